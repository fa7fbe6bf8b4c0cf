"""The result store: one directory per experiment, written so that nothing is ever lost or misread.

Layout of ``DIR``::

    spec.toml         the spec as run (after command-line overrides)
    manifest.json     experiment: name, kind, spec hash, status, package versions, times;
                      one entry per batch of runs: cell, seeds, config hash, status,
                      duration, file, sha256 of the file, rows
    runs/HASH.parquet the rows of one batch (one cell x a few seeds), named by its config hash
    results.parquet   the combined tidy table (also results.csv), in plan order
    .lock             held (flock) by the process running the experiment

Every file is written to a temporary file beside its target, fsynced and renamed over it
(``atomic_write_bytes``), so a reader sees the old file or the new one, never half of one. A
batch counts as done only when its manifest entry says so *and* the file's sha256 matches: a
run file from an interrupted or crashed process is detected and redone, never read as a
result. The store holds only TOML, JSON, Parquet and CSV: reading results never executes code
(no pickle).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import platform
import tempfile
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

MANIFEST = "manifest.json"
SPEC_FILE = "spec.toml"
RUNS_DIR = "runs"
LOCK = ".lock"
FORMAT = 1


def atomic_write_bytes(path: Path, data: bytes, *, fsync: bool = True) -> None:
    """Write ``data`` to a temporary file beside ``path`` (fsync it), then rename over ``path``.

    The rename makes a crash of the process harmless (the page cache survives it). ``fsync``
    also covers a crash of the machine; the store skips it for run files and the manifest,
    whose sha256 checks catch a file torn by a power loss (it is then redone).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
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


def package_versions() -> dict[str, str]:
    """Versions of Python and the packages that determine results."""
    import numba
    import numpy
    import pyarrow

    from dynaplan._version import __version__

    return {
        "python": platform.python_version(),
        "dynaplan": __version__,
        "numpy": numpy.__version__,
        "numba": numba.__version__,
        "pandas": pd.__version__,
        "pyarrow": pyarrow.__version__,
    }


class StoreError(ValueError):
    """A store directory that cannot be used (one line)."""


def read_manifest(root: Path) -> dict[str, Any] | None:
    """The manifest of ``root``, or None if absent or unreadable (then nothing in it is trusted)."""
    try:
        data = json.loads((Path(root) / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("batches"), list):
        return None
    return data


def read_results(root: Path) -> pd.DataFrame:
    """The combined table of an experiment directory (``StoreError`` if there is none)."""
    path = Path(root) / "results.parquet"
    if not path.is_file():
        raise StoreError(f"{root}: no results.parquet (not an experiment directory, or not finished)")
    try:
        return pd.read_parquet(path)
    except Exception as exc:
        raise StoreError(f"{path}: cannot read: {' '.join(str(exc).split())}") from None


class Store:
    """One experiment directory (see the module docstring).

    ``begin`` records the plan and returns which batches are already done (verified by sha256);
    ``save`` writes one finished batch; ``load`` reads a batch back, verifying it;
    ``finish`` writes the combined table. The manifest is rewritten atomically at most every
    ``flush_every`` seconds and at the end: a batch file not yet in the manifest is simply
    redone.
    """

    def __init__(self, root: Path, *, flush_every: float = 0.5) -> None:
        self.root = Path(root)
        self.flush_every = flush_every
        self.manifest: dict[str, Any] = {}
        self._entries: dict[str, dict[str, Any]] = {}
        self._last_flush = 0.0
        self._flush_cost = 0.0
        self._lock_file: Any = None

    # -- paths ----------------------------------------------------------------------------
    def run_path(self, config_hash: str) -> Path:
        return self.root / RUNS_DIR / f"{config_hash[:20]}.parquet"

    def stored_spec(self) -> str | None:
        """The TOML text of the spec this directory last ran, if any."""
        try:
            return (self.root / SPEC_FILE).read_text()
        except OSError:
            return None

    # -- life cycle -----------------------------------------------------------------------
    def begin(self, spec_toml: str, header: Mapping[str, Any], batches: Iterable[Mapping[str, Any]]) -> set[str]:
        """Record the plan; return config hashes of batches already done and intact.

        ``batches``: dicts with at least ``config_hash``, ``cell_index``, ``cell``, ``seeds``.
        Done batches of an earlier manifest are kept if their file's sha256 still matches
        (whatever spec they came from: a batch is identified by kind, cell and seeds). Files
        not in the new plan, and leftover temporary files, are removed.
        """
        if self.root.exists() and not self.root.is_dir():
            raise StoreError(f"{self.root}: exists and is not a directory")
        (self.root / RUNS_DIR).mkdir(parents=True, exist_ok=True)
        self._lock()
        ours = read_manifest(self.root)
        old = ours or {"batches": []}
        previous = {e["config_hash"]: e for e in old["batches"] if isinstance(e, dict) and "config_hash" in e}
        done: set[str] = set()
        entries: dict[str, dict[str, Any]] = {}
        for b in batches:
            h = str(b["config_hash"])
            entry = {**b, "status": "pending", "duration": None, "file": None, "sha256": None, "rows": None}
            prev = previous.get(h)
            if prev is not None and prev.get("status") == "done" and self._verify(h, prev.get("sha256")) is not None:
                kept = ("status", "duration", "file", "sha256", "rows", "finished")
                entry.update({k: prev[k] for k in kept if k in prev})
                done.add(h)
            entries[h] = entry
        keep = {self.run_path(h).name for h in entries}
        for p in (self.root / RUNS_DIR).iterdir():
            if p.name not in keep or p.name.endswith(".tmp"):
                p.unlink(missing_ok=True)
        for p in self.root.glob(".*.tmp"):
            p.unlink(missing_ok=True)
        self._entries = entries
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self.manifest = {
            "format": FORMAT,
            **header,
            "status": "done" if len(done) == len(entries) else "running",
            "created": old.get("created", now) if old.get("spec_hash") == header.get("spec_hash") else now,
            "updated": now,
            "versions": package_versions(),
            "batches": list(entries.values()),
        }
        if ours is not None and len(done) < len(entries):  # no stale table beside an unfinished experiment
            for name in ("results.parquet", "results.csv"):
                (self.root / name).unlink(missing_ok=True)
        atomic_write_bytes(self.root / SPEC_FILE, spec_toml.encode())
        self.flush(force=True)
        return done

    def _lock(self) -> None:
        """Hold ``DIR/.lock`` (``flock``) while running: a second run on the same directory is an
        error, not a race; the lock goes with the process, however it ends."""
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX
            return
        if self._lock_file is not None:
            return
        f = open(self.root / LOCK, "a+")  # noqa: SIM115 - held until close()
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.close()
            raise StoreError(f"{self.root}: another dynaplan run is using this directory") from None
        self._lock_file = f

    def close(self) -> None:
        """Release the directory (the manifest is flushed first)."""
        f = self._lock_file
        if f is not None:
            if self.manifest:
                self.flush(force=True)
            f.close()
            self._lock_file = None

    def _verify(self, config_hash: str, digest: Any) -> bytes | None:
        """The bytes of a batch file if its sha256 is ``digest`` (None if missing or different)."""
        try:
            data = self.run_path(config_hash).read_bytes()
        except OSError:
            return None
        return data if isinstance(digest, str) and sha256(data) == digest else None

    def save(self, config_hash: str, data: bytes, rows: int, duration: float) -> None:
        """Write one finished batch (Parquet bytes) atomically, then mark it done."""
        path = self.run_path(config_hash)
        atomic_write_bytes(path, data, fsync=False)
        entry = self._entries[config_hash]
        entry.update(
            status="done", duration=round(duration, 6), file=f"{RUNS_DIR}/{path.name}", sha256=sha256(data),
            rows=int(rows), finished=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        )
        self.flush()

    def load_bytes(self, config_hash: str) -> bytes | None:
        """A done batch's Parquet bytes (None if its file is missing or its checksum differs)."""
        entry = self._entries.get(config_hash)
        if entry is None or entry.get("status") != "done":
            return None
        return self._verify(config_hash, entry.get("sha256"))

    def load(self, config_hash: str) -> pd.DataFrame | None:
        """A done batch read back (None if its file is missing or its checksum differs)."""
        entry = self._entries.get(config_hash)
        if entry is None or entry.get("status") != "done":
            return None
        data = self._verify(config_hash, entry.get("sha256"))
        if data is None:
            return None
        try:
            return from_parquet_bytes(data)
        except Exception:
            return None

    def mark(self, status: str, **fields: Any) -> None:
        """Set the experiment's status (``running``, ``interrupted``, ``failed``, ``done``)."""
        self.manifest["status"] = status
        self.manifest.update(fields)
        self.flush(force=True)

    def flush(self, *, force: bool = False) -> None:
        """Rewrite the manifest atomically (unless ``force``, at most every ``flush_every`` s and
        at most 10% of the time: a sweep of many batches does not spend it rewriting JSON)."""
        now = time.monotonic()
        if not force and now - self._last_flush < max(self.flush_every, 10 * self._flush_cost):
            return
        self._last_flush = now
        self.manifest["updated"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self.manifest["runs_done"] = sum(len(e["seeds"]) for e in self._entries.values() if e["status"] == "done")
        self.manifest["runs_total"] = sum(len(e["seeds"]) for e in self._entries.values())
        atomic_write_bytes(self.root / MANIFEST, (json.dumps(self.manifest, indent=1) + "\n").encode(), fsync=False)
        self._flush_cost = time.monotonic() - now

    def finish(self, table: pd.DataFrame) -> tuple[Path, Path]:
        """Write ``results.parquet`` and ``results.csv``, then mark the experiment done."""
        paths = write_table(table, self.root)
        self.mark("done")
        return paths
