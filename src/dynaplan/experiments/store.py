"""The result store: one directory per experiment, written so that nothing is ever lost or misread.

Layout of ``DIR``::

    spec.toml         the spec as run (after command-line overrides)
    manifest.json     experiment: name, kind, spec hash, status, package versions, times;
                      one entry per batch of runs: cell, seeds, config hash, status,
                      duration, file, sha256 of the file, rows
    runs/HASH-SHA.parquet  the rows of one batch (one cell x a few seeds), named by its config
                      hash and the sha256 of its bytes (so a file verifies without the manifest)
    results.parquet   the combined tidy table (also results.csv), in plan order
    .lock             held (flock) by the process running the experiment; holds its pid and host

Every file is written to a temporary file beside its target, fsynced and renamed over it
(``atomic_write_bytes``), so a reader sees the old file or the new one, never half of one. A
batch counts as done only when its manifest entry says so *and* the file's sha256 matches: a
run file from an interrupted or crashed process is detected and redone, never read as a
result; a manifest that cannot be read costs only a warning, as every run file whose bytes
match the sha256 in its name is kept. Files are created with the user's umask (as ``open``
would), so other users can read what the umask lets them. The store holds only TOML, JSON,
Parquet and CSV: reading results never executes code (no pickle).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import platform
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

MANIFEST = "manifest.json"
SPEC_FILE = "spec.toml"
RUNS_DIR = "runs"
LOCK = ".lock"
FORMAT = 1


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
    whose sha256 checks catch a file torn by a power loss (it is then redone).
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


def _os_problem(exc: OSError) -> str:
    return exc.strerror or " ".join(str(exc).split())


def _manifest_or_problem(root: Path) -> tuple[dict[str, Any] | None, str | None]:
    """(manifest, None), (None, None) if there is none, or (None, why it cannot be used)."""
    path = Path(root) / MANIFEST
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None, None
    except (OSError, ValueError) as exc:
        return None, _os_problem(exc) if isinstance(exc, OSError) else "not UTF-8 text"
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
    if not isinstance(data, dict) or not isinstance(data.get("batches"), list):
        return None, "not a dynaplan manifest"
    if data.get("format") != FORMAT:
        return None, f"format {data.get('format')!r}, expected {FORMAT}"
    return data, None


def read_manifest(root: Path) -> dict[str, Any] | None:
    """The manifest of ``root``, or None if absent or unreadable (then nothing in it is trusted)."""
    return _manifest_or_problem(root)[0]


def _warn(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr, flush=True)


def _pid_alive(pid: int) -> bool:
    """Whether process ``pid`` (on this host) still runs; a zombie counts as ended."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat[stat.rindex(")") + 2] != "Z"
    except (OSError, ValueError, IndexError):
        return True


_HELD_LOCKS: list[Any] = []
"""The lock files this process holds (see ``release_inherited_locks``)."""


def release_inherited_locks() -> None:
    """Close, in a forked child, the store locks inherited from its parent.

    A ``flock`` belongs to the open file, which a forked worker shares: a worker outliving its
    parent would keep the directory locked. Closing the child's copy leaves the parent's lock
    in place (call it first thing in a forked worker)."""
    while _HELD_LOCKS:
        with contextlib.suppress(OSError):
            _HELD_LOCKS.pop().close()


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

    def __init__(self, root: Path, *, flush_every: float = 0.5, notify: Callable[[str], None] | None = None) -> None:
        self.root = Path(root)
        self.flush_every = flush_every
        self.notify = notify or _warn
        self.manifest: dict[str, Any] = {}
        self._entries: dict[str, dict[str, Any]] = {}
        self._last_flush = 0.0
        self._flush_cost = 0.0
        self._lock_file: Any = None

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
        (then with one warning through ``notify``). Other run files and leftover temporary
        files are removed. A directory that cannot be written is a ``StoreError``.
        """
        if self.root.exists() and not self.root.is_dir():
            raise StoreError(f"{self.root}: exists and is not a directory")
        try:
            return self._begin(spec_toml, header, batches)
        except OSError as exc:
            where = exc.filename or self.root
            raise StoreError(f"{where}: cannot write the result store: {_os_problem(exc)}") from None

    def _begin(self, spec_toml: str, header: Mapping[str, Any], batches: Iterable[Mapping[str, Any]]) -> set[str]:
        (self.root / RUNS_DIR).mkdir(parents=True, exist_ok=True)
        self._lock()
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
        if self._manifest_problem is not None:
            self.notify(f"{self.root / MANIFEST}: unreadable ({self._manifest_problem}); kept the "
                        f"{sum(len(entries[h]['seeds']) for h in done)} runs whose files verify, redoing the rest")
        keep = {Path(str(entries[h]["file"])).name for h in done}
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
        # no stale table beside an unfinished experiment
        if (ours is not None or self._manifest_problem is not None) and len(done) < len(entries):
            for name in ("results.parquet", "results.csv"):
                (self.root / name).unlink(missing_ok=True)
        atomic_write_bytes(self.root / SPEC_FILE, spec_toml.encode())
        self.flush(force=True)
        return done

    _manifest_problem: str | None = None

    def _previous_manifest(self) -> dict[str, Any] | None:
        """The manifest of an earlier run (None if absent or unreadable; why, in ``_manifest_problem``)."""
        manifest, self._manifest_problem = _manifest_or_problem(self.root)
        self._files: dict[str, list[Path]] = {}
        for p in (self.root / RUNS_DIR).glob("*-*.parquet"):
            self._files.setdefault(p.name.split("-", 1)[0], []).append(p)
        return manifest

    def _adopt_saved(self) -> None:
        """Record the batches whose files are on disk and verify but whose entries are not done yet:
        an interrupt can land between a batch's file and its entry."""
        self._files = {}
        for p in (self.root / RUNS_DIR).glob("*-*.parquet"):
            self._files.setdefault(p.name.split("-", 1)[0], []).append(p)
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

    def _lock(self) -> None:
        """Hold ``DIR/.lock`` (``flock``) while running: a second run on the same directory is an
        error, not a race; the lock goes with the process, however it ends.

        The file holds the holder's pid and host. A lock file naming a process of this host that
        has ended was left by a run that was killed: if the lock is still held (by a process
        that inherited it), it is taken over by replacing the file, with a line saying so."""
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX
            return
        if self._lock_file is not None:
            return
        path = self.root / LOCK
        for attempt in range(2):
            f = open(path, "a+")  # noqa: SIM115 - held until close()
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                f.close()
                holder = self._dead_holder(path)
                if holder is None or attempt:
                    raise StoreError(f"{self.root}: another dynaplan run is using this directory") from None
                self.notify(f"{self.root}: the lock of process {holder}, which has ended, is still held "
                            "(by a process it started); taking it over")
                path.unlink(missing_ok=True)
                continue
            holder = self._dead_holder(path)
            if holder is not None:
                self.notify(f"{self.root}: process {holder} ended without releasing this directory; taking it over")
            f.seek(0)
            f.truncate()
            f.write(f"{os.getpid()} {socket.gethostname()}\n")
            f.flush()
            self._lock_file = f
            _HELD_LOCKS.append(f)
            return

    @staticmethod
    def _dead_holder(path: Path) -> int | None:
        """The pid written in the lock file if it names an ended process of this host, else None."""
        try:
            pid_text, host = path.read_text().split()[:2]
            pid = int(pid_text)
        except (OSError, ValueError):
            return None
        if host != socket.gethostname() or pid == os.getpid() or _pid_alive(pid):
            return None
        return pid

    def close(self) -> None:
        """Release the directory (the manifest is flushed first)."""
        f = self._lock_file
        if f is not None:
            try:
                if self.manifest:
                    self.flush(force=True)
            finally:
                with contextlib.suppress(OSError):  # released cleanly: no pid left for the next run
                    f.seek(0)
                    f.truncate()
                if f in _HELD_LOCKS:
                    _HELD_LOCKS.remove(f)
                f.close()
                self._lock_file = None

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
            raise StoreError(f"{path}: cannot write: {_os_problem(exc)}") from None
        entry = self._entries[config_hash]
        entry.update(
            status="done", duration=round(duration, 6), file=f"{RUNS_DIR}/{path.name}", sha256=digest,
            rows=int(rows), finished=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
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
        entry = self._entries.get(config_hash)
        if entry is None or entry.get("status") != "done":
            return None
        data = self._verify(config_hash, entry.get("sha256"), entry.get("file"))
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
        self.manifest["updated"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        self.manifest["runs_done"] = sum(len(e["seeds"]) for e in self._entries.values() if e["status"] == "done")
        self.manifest["runs_total"] = sum(len(e["seeds"]) for e in self._entries.values())
        try:
            atomic_write_bytes(self.root / MANIFEST, (json.dumps(self.manifest, indent=1) + "\n").encode(), fsync=False)
        except OSError as exc:
            raise StoreError(f"{self.root / MANIFEST}: cannot write: {_os_problem(exc)}") from None
        self._flush_cost = time.monotonic() - now

    def finish(self, table: pd.DataFrame) -> tuple[Path, Path]:
        """Write ``results.parquet`` and ``results.csv``, then mark the experiment done."""
        try:
            paths = write_table(table, self.root)
        except OSError as exc:
            raise StoreError(f"{exc.filename or self.root}: cannot write: {_os_problem(exc)}") from None
        self.mark("done")
        return paths


# -- reusing a directory: continue the same experiment, never discard another one silently ------
#: Files an experiment writes at the top of its directory (tables, reproduction figures, ``plot``).
OUTPUT_PATTERNS = ("results.parquet", "results.csv", "figure*.png", "plot-*.png")
STORE_FILES = (SPEC_FILE, MANIFEST, RUNS_DIR)


def finished_runs(root: Path) -> int:
    """Runs recorded as done in the manifest of ``root`` (0 without a readable one)."""
    manifest = read_manifest(root)
    if manifest is None:
        return 0
    batches = [e for e in manifest["batches"] if isinstance(e, dict)]
    return sum(len(e.get("seeds", ())) for e in batches if e.get("status") == "done")


def finished_batches(root: Path) -> set[str]:
    """Config hashes of the batches the manifest of ``root`` records as done."""
    manifest = read_manifest(root)
    if manifest is None:
        return set()
    return {str(e["config_hash"]) for e in manifest["batches"]
            if isinstance(e, dict) and e.get("status") == "done" and "config_hash" in e}


def reuse_decision(root: Path, spec: Any, *, overwrite: bool, planned: set[str] | None = None) -> str:
    """What running ``spec`` (an ``experiments.spec.Spec``) in ``root`` does to what is there.

    Returns ``"new"`` (nothing there), ``"same"`` (the directory holds this experiment: it
    resumes, or is already done), ``"extend"`` (another experiment whose finished batches are all
    in ``planned``, the config hashes of the new plan: more seeds, say; nothing is lost) or
    ``"replace"`` (another experiment, or files that are not a store, with ``overwrite``; or
    another experiment with no finished run). Raises ``StoreError`` (one line naming
    ``--overwrite`` and ``--out``) when finished runs of another experiment, or files that are not
    a store, would otherwise be replaced. Runs both experiments share are kept either way (a batch
    is a pure function of kind, cell and seeds).
    """
    from dynaplan.experiments.spec import SpecError, parse_spec

    root = Path(root)
    if root.exists() and not root.is_dir():
        raise StoreError(f"{root}: exists and is not a directory; choose another --out")
    if not root.exists() or not any(p.name != LOCK for p in root.iterdir()):  # a lock alone: a store never begun
        return "new"
    if not any((root / name).exists() for name in STORE_FILES):
        if overwrite:
            return "replace"
        raise StoreError(f"{root}: not empty and not a dynaplan result store; choose a new or empty --out "
                         "(or give --overwrite to write the results into it)")
    text = Store(root).stored_spec()
    difference = "its spec.toml is missing or unreadable"
    if text is not None:
        try:
            stored = parse_spec(text, source=str(root / SPEC_FILE), validate=False)
        except SpecError:
            stored = None
        if stored is not None:
            if stored.config_hash() == spec.config_hash():
                return "same"
            difference = spec.difference(stored).replace(" there", " in the store")
    done = finished_runs(root)
    if overwrite or done == 0:
        return "replace"
    if planned is not None and finished_batches(root) <= planned:
        return "extend"
    raise StoreError(f"{root} holds another experiment ({done} finished runs; {difference}); give --overwrite "
                     "to replace it (runs both share are kept) or choose a different --out")


def stored_experiment(root: Path, *, validate: bool = True) -> Any:
    """The spec stored in ``root`` (an ``experiments.spec.Spec``, validated unless told not to);
    ``StoreError`` (one line) when there is none: nothing to resume."""
    from dynaplan.experiments.spec import parse_spec

    text = Store(root).stored_spec() if Path(root).is_dir() else None
    if text is None:
        raise StoreError(f"{root}: nothing to resume (no {SPEC_FILE}); run without --resume first")
    return parse_spec(text, source=str(Path(root) / SPEC_FILE), validate=validate)


def check_resume(root: Path, spec: Any, stored: Any = None) -> None:
    """For ``--resume`` (``resume=True``): ``root`` must hold the experiment ``spec`` describes
    (``stored``: its stored spec, if already read); ``StoreError`` naming the first key that
    differs otherwise, or that there is nothing to resume."""
    stored = stored if stored is not None else stored_experiment(root, validate=False)
    difference = spec.difference(stored)
    if difference:
        raise StoreError(f"{root}: --resume: not the stored experiment "
                         f"({difference.replace(' there', ' in the store')}); drop --resume and give --overwrite "
                         "to replace it, or choose a different --out")


def clear_outputs(root: Path) -> list[Path]:
    """Remove the tables and figures at the top of ``root`` (``OUTPUT_PATTERNS``), so that what
    a directory shows always describes the runs it holds; returns the files removed."""
    removed = []
    for pattern in OUTPUT_PATTERNS:
        for path in sorted(Path(root).glob(pattern)):
            if path.is_file():
                path.unlink()
                removed.append(path)
    return removed
