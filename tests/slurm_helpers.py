"""A kind for the SLURM cluster tests, importable by the jobs: the ``episodes`` kind (an agent's
episodes, one row per seed and episode), after a sleep the first time (a marker file) when the
cell asks for one."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from dynaplan.experiments.kinds import register_kind, run_episodes


@register_kind("test-sleep-once", "the episodes kind; sleeps `sleep` seconds the first time `marker` is missing")
def sleep_once(cell: Mapping[str, Any], seeds: Sequence[int]) -> pd.DataFrame:
    marker = Path(str(cell.get("marker", ""))) if cell.get("marker") else None
    if marker is not None and not marker.exists():
        marker.touch()
        time.sleep(float(cell.get("sleep", 0)))
    return run_episodes({k: v for k, v in cell.items() if k not in ("marker", "sleep")}, seeds)
