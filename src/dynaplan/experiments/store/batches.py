"""The batches of a result store: recorded, saved, verified, read back and combined.

``Store(root)`` runs one experiment in ``root``: ``begin`` records the plan and returns which
batches are already done (verified by sha256); ``save`` writes one finished batch; ``load``
reads a batch back, verifying it; ``finish`` writes the combined table. A batch counts as done
only when its manifest entry says so *and* its file's sha256 matches: a run file from an
interrupted or crashed process is detected and redone, never read as a result; a manifest that
cannot be read costs only a warning, as every run file whose bytes match the sha256 in its name
is kept.

``Store(root, replacing=True)`` runs a new experiment in a directory that holds another one
and keeps the old one whole until the new one has finished: the plan and progress go to
``manifest.next.json`` / ``spec.next.toml``, run files are added beside the old ones (a batch's
file is named by its config hash, so none is overwritten), and ``finish`` commits (spec,
manifest, tables), then removes the old experiment's run files and outputs that the new one does
not use. An interrupted or failed replacement leaves the previous experiment as it was.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from dynaplan.experiments.store.files import (
    StoreError,
    atomic_write_bytes,
    from_parquet_bytes,
    os_problem,
    sha256,
    write_table,
)
from dynaplan.experiments.store.lock import DirLock
from dynaplan.experiments.store.manifest import (
    FORMAT,
    MANIFEST,
    MANIFEST_NEXT,
    RUNS_DIR,
    SPEC_FILE,
    SPEC_NEXT,
    TABLES,
    is_run_file,
    is_temp_file,
    listed_outputs,
    manifest_or_problem,
    package_versions,
)

__all__ = ["Store"]


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr, flush=True)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def remove_store_files(folder: Path, keep: set[str] = frozenset()) -> None:  # type: ignore[assignment]
    """Remove the run files and temporary files in ``folder`` whose names are the store's own,
    except ``keep``; any other file or folder is left alone."""
    try:
        entries = list(folder.iterdir())
    except FileNotFoundError:
        return
    for p in entries:
        ours = is_temp_file(p.name) or (is_run_file(p.name) and p.name not in keep)
        if ours and not p.is_dir():
            p.unlink(missing_ok=True)


class Store:
    """One experiment directory (see the module docstring and ``store.manifest``).

    The manifest is rewritten atomically at most every ``flush_every`` seconds and at the end:
    a batch file not yet in the manifest is simply redone.
    """

    def __init__(self, root: Path, *, flush_every: float = 0.5, notify: Callable[[str], None] | None = None,
                 replacing: bool = False) -> None:
        self.root = Path(root)
        self.flush_every = flush_every
        self.notify = notify or _warn
        self.replacing = replacing
        self.manifest: dict[str, Any] = {}
        self._entries: dict[str, dict[str, Any]] = {}
        self._last_flush = 0.0
        self._flush_cost = 0.0
        self._lock = DirLock(self.root, self.notify)
        self._replaced: dict[str, Any] | None = None
        self._files: dict[str, list[Path]] = {}

    @property
    def manifest_name(self) -> str:
        """Where the manifest is written while running (``manifest.next.json`` when replacing)."""
        return MANIFEST_NEXT if self.replacing else MANIFEST

    # -- paths ----------------------------------------------------------------------------
    def run_path(self, config_hash: str, digest: str) -> Path:
        """The file of a batch: its config hash and the sha256 of its bytes (both shortened)."""
        return self.root / RUNS_DIR / f"{config_hash[:20]}-{digest[:16]}.parquet"

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
        (whatever spec they came from: a batch is identified by kind, cell and seeds); so is a
        planned batch whose file is on disk and matches the sha256 in its name, when the
        manifest does not list it (killed before the manifest was flushed) or cannot be read
        (then with one warning through ``notify``). The store's other run files and leftover
        temporary files are removed (when replacing, only at ``finish``). A directory that
        cannot be written is a ``StoreError``.
        """
        if self.root.exists() and not self.root.is_dir():
            raise StoreError(f"{self.root}: exists and is not a directory")
        try:
            return self._begin(spec_toml, header, batches)
        except OSError as exc:
            where = exc.filename or self.root
            raise StoreError(f"{where}: cannot write the result store: {os_problem(exc)}") from None

    def _begin(self, spec_toml: str, header: Mapping[str, Any], batches: Iterable[Mapping[str, Any]]) -> set[str]:
        (self.root / RUNS_DIR).mkdir(parents=True, exist_ok=True)
        self._lock.acquire()
        ours = self._previous_manifest()
        old = ours or {"batches": []}
        previous = {e["config_hash"]: e for e in old["batches"] if isinstance(e, dict) and "config_hash" in e}
        done: set[str] = set()
        entries: dict[str, dict[str, Any]] = {}
        for b in batches:
            h = str(b["config_hash"])
            entry = {**b, "status": "pending", "duration": None, "file": None, "sha256": None, "rows": None}
            prev = previous.get(h)
            if prev is not None and prev.get("status") == "done" and self._verify(h, prev.get("sha256"),
                                                                                 prev.get("file")) is not None:
                kept = ("status", "duration", "file", "sha256", "rows", "finished")
                entry.update({k: prev[k] for k in kept if k in prev})
                done.add(h)
            elif (found := self._recover(h)) is not None:  # saved, but not (yet) in a readable manifest
                entry.update(found)
                done.add(h)
            entries[h] = entry
        if self._manifest_problem is not None and not self.replacing:
            self.notify(f"{self.root / MANIFEST}: unreadable ({self._manifest_problem}); kept the "
                        f"{sum(len(entries[h]['seeds']) for h in done)} runs whose files verify, redoing the rest")
        if not self.replacing:
            remove_store_files(self.root / RUNS_DIR, {Path(str(entries[h]["file"])).name for h in done})
            remove_store_files(self.root)
            for name in (MANIFEST_NEXT, SPEC_NEXT):  # an unfinished replacement, given up
                (self.root / name).unlink(missing_ok=True)
        self._entries = entries
        now = _now()
        self.manifest = {
            "format": FORMAT,
            **header,
            "status": "done" if len(done) == len(entries) else "running",
            "created": old.get("created", now) if old.get("spec_hash") == header.get("spec_hash") else now,
            "updated": now,
            "versions": package_versions(),
            "outputs": [] if self.replacing else listed_outputs(ours),
            "batches": list(entries.values()),
        }
        # no stale table beside an unfinished experiment
        if not self.replacing and (ours is not None or self._manifest_problem is not None) and len(done) < len(entries):
            for name in TABLES:
                (self.root / name).unlink(missing_ok=True)
        atomic_write_bytes(self.root / (SPEC_NEXT if self.replacing else SPEC_FILE), spec_toml.encode())
        self.flush(force=True)
        return done

    _manifest_problem: str | None = None

    def _scan_run_files(self) -> None:
        self._files = {}
        for p in (self.root / RUNS_DIR).glob("*-*.parquet"):
            if is_run_file(p.name) and p.is_file():
                self._files.setdefault(p.name.split("-", 1)[0], []).append(p)

    def _previous_manifest(self) -> dict[str, Any] | None:
        """The manifest of an earlier run (None if absent or unreadable; why, in ``_manifest_problem``).
        When replacing, the experiment being replaced is kept aside for ``finish``; the batches
        to reuse come from it and from an earlier, unfinished replacement."""
        manifest, self._manifest_problem = manifest_or_problem(self.root)
        self._scan_run_files()
        if self.replacing:
            self._replaced = manifest
            pending, _ = manifest_or_problem(self.root, MANIFEST_NEXT)
            if manifest is not None and pending is not None:
                return {**pending, "batches": [*manifest["batches"], *pending["batches"]]}
            return manifest or pending
        return manifest

    def _adopt_saved(self) -> None:
        """Record the batches whose files are on disk and verify but whose entries are not done yet:
        an interrupt can land between a batch's file and its entry."""
        self._scan_run_files()
        for h, entry in self._entries.items():
            if entry.get("status") != "done" and (found := self._recover(h)) is not None:
                entry.update(found)

    def _recover(self, config_hash: str) -> dict[str, Any] | None:
        """The entry fields of a batch whose file is on disk and verifies by the sha256 in its name."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        for path in self._files.get(config_hash[:20], []):
            try:
                data = path.read_bytes()
            except OSError:
                continue
            digest = sha256(data)
            if path.name != self.run_path(config_hash, digest).name:
                continue
            try:
                rows = pq.read_metadata(pa.BufferReader(data)).num_rows
            except Exception:
                continue
            finished = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(path.stat().st_mtime))
            return {"status": "done", "file": f"{RUNS_DIR}/{path.name}", "sha256": digest, "rows": int(rows),
                    "finished": finished}
        return None

    def close(self) -> None:
        """Release the directory (the manifest is flushed first)."""
        if not self._lock.held:
            return
        try:
            if self.manifest:
                self.flush(force=True)
        finally:
            self._lock.release()

    def _verify(self, config_hash: str, digest: Any, file: Any = None) -> bytes | None:
        """The bytes of a batch file if its sha256 is ``digest`` (None if missing or different).

        ``file``: the name the manifest gives (stores written before files were named by their
        sha256 used ``runs/HASH.parquet``); only its name is used, always inside ``runs/``."""
        if not isinstance(digest, str) or len(digest) != 64:
            return None
        paths = [self.run_path(config_hash, digest)]
        if isinstance(file, str) and Path(file).name not in ("", paths[0].name):
            paths.append(self.root / RUNS_DIR / Path(file).name)
        for path in paths:
            try:
                data = path.read_bytes()
            except OSError:
                continue
            if sha256(data) == digest:
                return data
        return None

    def save(self, config_hash: str, data: bytes, rows: int, duration: float) -> None:
        """Write one finished batch (Parquet bytes) atomically, then mark it done."""
        digest = sha256(data)
        path = self.run_path(config_hash, digest)
        try:
            atomic_write_bytes(path, data, fsync=False)
        except OSError as exc:
            raise StoreError(f"{path}: cannot write: {os_problem(exc)}") from None
        entry = self._entries[config_hash]
        entry.update(
            status="done", duration=round(duration, 6), file=f"{RUNS_DIR}/{path.name}", sha256=digest,
            rows=int(rows), finished=_now(),
        )
        self.flush()

    def load_bytes(self, config_hash: str) -> bytes | None:
        """A done batch's Parquet bytes (None if its file is missing or its checksum differs)."""
        entry = self._entries.get(config_hash)
        if entry is None or entry.get("status") != "done":
            return None
        return self._verify(config_hash, entry.get("sha256"), entry.get("file"))

    def load(self, config_hash: str) -> pd.DataFrame | None:
        """A done batch read back (None if its file is missing or its checksum differs)."""
        data = self.load_bytes(config_hash)
        if data is None:
            return None
        try:
            return from_parquet_bytes(data)
        except Exception:
            return None

    def mark(self, status: str, **fields: Any) -> None:
        """Set the experiment's status (``running``, ``interrupted``, ``failed``, ``done``)."""
        if status in ("interrupted", "failed"):
            self._adopt_saved()
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
        self.manifest["updated"] = _now()
        self.manifest["runs_done"] = sum(len(e["seeds"]) for e in self._entries.values() if e["status"] == "done")
        self.manifest["runs_total"] = sum(len(e["seeds"]) for e in self._entries.values())
        path = self.root / self.manifest_name
        try:
            atomic_write_bytes(path, (json.dumps(self.manifest, indent=1) + "\n").encode(), fsync=False)
        except OSError as exc:
            raise StoreError(f"{path}: cannot write: {os_problem(exc)}") from None
        self._flush_cost = time.monotonic() - now

    def finish(self, table: pd.DataFrame) -> tuple[Path, Path]:
        """Write ``results.parquet`` and ``results.csv``, then mark the experiment done. When
        replacing: commit the new experiment (spec, then the manifest: from then on the directory
        holds it), then remove what only the old one used."""
        try:
            if self.replacing:
                return self._commit(table)
            paths = write_table(table, self.root)
        except OSError as exc:
            raise StoreError(f"{exc.filename or self.root}: cannot write: {os_problem(exc)}") from None
        self.manifest["outputs"] = [*TABLES, *(n for n in self.manifest.get("outputs", []) if n not in TABLES)]
        self.mark("done")
        return paths

    def _commit(self, table: pd.DataFrame) -> tuple[Path, Path]:
        old_outputs = listed_outputs(self._replaced)
        (self.root / SPEC_NEXT).replace(self.root / SPEC_FILE)
        self.replacing = False
        self.manifest["outputs"] = list(TABLES)
        for name in TABLES:  # no table of the old runs beside the new manifest, even for a moment
            (self.root / name).unlink(missing_ok=True)
        self.mark("done")  # manifest.json now describes the new experiment
        (self.root / MANIFEST_NEXT).unlink(missing_ok=True)
        paths = write_table(table, self.root)
        for name in old_outputs:
            if name not in TABLES and (self.root / name).is_file():
                (self.root / name).unlink()
        used = {Path(str(e["file"])).name for e in self._entries.values() if e.get("file")}
        remove_store_files(self.root / RUNS_DIR, used)
        remove_store_files(self.root)
        return paths
