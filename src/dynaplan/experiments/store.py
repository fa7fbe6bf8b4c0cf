"""Writing result tables atomically: a reader never sees a half-written file."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pandas as pd


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, fsync it, then rename over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_table(table: pd.DataFrame, out_dir: Path, stem: str = "results") -> tuple[Path, Path]:
    """``out_dir/stem.csv`` and ``out_dir/stem.parquet``, each written atomically."""
    out_dir = Path(out_dir)
    csv_path, pq_path = out_dir / f"{stem}.csv", out_dir / f"{stem}.parquet"
    atomic_write_bytes(csv_path, table.to_csv(index=False).encode())
    atomic_write_bytes(pq_path, table.to_parquet(index=False))
    return csv_path, pq_path
