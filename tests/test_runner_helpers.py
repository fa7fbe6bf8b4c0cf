"""A kind whose worker process dies the first time it runs a batch (for the retry tests).

A module of its own, importable by worker processes (Ray workers get this directory on their
``PYTHONPATH``) so that they can find the kind by name.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dynaplan.experiments.kinds import register_kind


@register_kind("test-die-once", "dies (os._exit) the first time a marker file is missing")
def die_once(cell: Mapping[str, Any], seeds: Sequence[int]) -> pd.DataFrame:
    marker = Path(cell["marker"]) / f"{seeds[0]}"
    if not marker.exists():
        marker.touch()
        os._exit(1)
    return pd.DataFrame({"seed": np.asarray(seeds, dtype=np.int64), "value": np.asarray(seeds) % 7})


@register_kind("test-square", "value = seed**2 * scale: a user-defined kind found through the spec's module")
def square(cell: Mapping[str, Any], seeds: Sequence[int]) -> pd.DataFrame:
    s = np.asarray(seeds, dtype=np.int64)
    return pd.DataFrame({"seed": s, "value": s.astype(float) ** 2 * float(cell["scale"])})


def test_the_kind_is_registered() -> None:
    from dynaplan.experiments.kinds import KINDS

    assert KINDS["test-die-once"].module == __name__
