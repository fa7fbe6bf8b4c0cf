"""Expand cells x seeds into batches of runs and collect their tidy rows (serial runner)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd

from dynaplan.experiments.kinds import KINDS

Progress = Callable[[int], None]


def run_cells(
    kind: str,
    cells: Sequence[Mapping[str, Any]],
    seeds: Sequence[int],
    *,
    batch_size: int = 10,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """Run every cell for every seed, ``batch_size`` seeds per call; ``progress(n)`` after each."""
    run = KINDS[kind].run
    frames = []
    for cell in cells:
        for i in range(0, len(seeds), batch_size):
            batch = list(seeds[i : i + batch_size])
            frames.append(run(cell, batch))
            if progress is not None:
                progress(len(batch))
    return pd.concat(frames, ignore_index=True)
