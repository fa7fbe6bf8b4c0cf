"""Files of a result store: atomic writes, Parquet bytes, checksums, and the store's one error."""

from __future__ import annotations

import hashlib
import io
import os
import tempfile
from pathlib import Path

import pandas as pd

__all__ = ["StoreError", "atomic_write_bytes", "current_umask", "from_parquet_bytes", "os_problem", "sha256",
           "to_parquet_bytes", "write_table"]


class StoreError(ValueError):
    """A store directory that cannot be used (one line)."""


def os_problem(exc: OSError) -> str:
    """The reason of an ``OSError`` in a few words (``Permission denied``)."""
    return exc.strerror or " ".join(str(exc).split())


def current_umask() -> int:
    """This process's umask (read from ``/proc`` where it can be: ``os.umask`` sets it to read it)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: Path, data: bytes, *, fsync: bool = True) -> None:
    """Write ``data`` to a temporary file beside ``path`` (fsync it), then rename over ``path``.

    The rename makes a crash of the process harmless (the page cache survives it). ``fsync``
    also covers a crash of the machine; the store skips it for run files and the manifest,
    whose sha256 checks catch a file torn by a power loss (it is then redone). The temporary
    file is ``.NAME.XXXXXXXX.tmp`` (``batches.TEMP``): the store removes only files named so.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~current_umask())  # mkstemp makes 0600; a plain open would honour the umask
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            if fsync:
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


def to_parquet_bytes(frame: pd.DataFrame) -> bytes:
    """A frame as Parquet bytes (no index)."""
    return bytes(frame.to_parquet(index=False))


def from_parquet_bytes(data: bytes) -> pd.DataFrame:
    """A frame from Parquet bytes."""
    return pd.read_parquet(io.BytesIO(data))


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
