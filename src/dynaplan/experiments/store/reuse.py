"""Reusing a directory: continue the same experiment, never discard another one silently, never
touch a file the store did not write.

The errors name what to do in the Python API's terms (``overwrite=True``, ``resume``); the
command line words them with its own flags (``cli.store_message``), from the fields each error
carries.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from dynaplan.experiments.store.batches import Store
from dynaplan.experiments.store.files import StoreError
from dynaplan.experiments.store.lock import LOCK
from dynaplan.experiments.store.manifest import (
    MANIFEST,
    MANIFEST_NEXT,
    RUNS_DIR,
    SPEC_FILE,
    finished_batches,
    finished_runs,
    listed_outputs,
    read_manifest,
)

__all__ = [
    "NotAStore",
    "NotTheStoredExperiment",
    "NothingToResume",
    "OtherExperiment",
    "check_resume",
    "clear_outputs",
    "is_store",
    "read_results",
    "reuse_decision",
    "stored_experiment",
]

STORE_FILES = (SPEC_FILE, MANIFEST, MANIFEST_NEXT, RUNS_DIR)


class NotAStore(StoreError):
    """``root`` is not empty and holds no result store: it is refused whatever the options."""

    def __init__(self, root: Path) -> None:
        self.root = root
        super().__init__(f"{root}: not empty and not a dynaplan result store; nothing in it is replaced or "
                         "deleted: choose a new or empty directory")


class OtherExperiment(StoreError):
    """``root`` holds another experiment with ``done`` finished runs (``difference``: how it differs)."""

    def __init__(self, root: Path, done: int, difference: str) -> None:
        self.root, self.done, self.difference = root, done, difference
        super().__init__(f"{root} holds another experiment ({done} finished runs; {difference}); pass "
                         "overwrite=True to replace it (runs both share are kept) or choose a different directory")


class NothingToResume(StoreError):
    """``resume`` on a directory without a stored spec."""

    def __init__(self, root: Path) -> None:
        self.root = root
        super().__init__(f"{root}: nothing to resume (no {SPEC_FILE}); run without resume first")


class NotTheStoredExperiment(StoreError):
    """``resume`` with a spec that is not the one stored (``difference``: the first key that differs)."""

    def __init__(self, root: Path, difference: str) -> None:
        self.root, self.difference = root, difference
        super().__init__(f"{root}: resume: not the stored experiment ({difference}); run without resume and "
                         "with overwrite=True to replace it, or choose a different directory")


def is_store(root: Path) -> bool:
    """Whether ``root`` holds a result store (its spec, manifest or run folder)."""
    return any((Path(root) / name).exists() for name in STORE_FILES)


def read_results(root: Path) -> pd.DataFrame:
    """The combined table of an experiment directory (``StoreError`` if there is none)."""
    path = Path(root) / "results.parquet"
    if not path.is_file():
        raise StoreError(f"{root}: no results.parquet (not an experiment directory, or not finished)")
    try:
        return pd.read_parquet(path)
    except Exception as exc:
        raise StoreError(f"{path}: cannot read: {' '.join(str(exc).split())}") from None


def reuse_decision(root: Path, spec: Any, *, overwrite: bool, planned: set[str] | None = None) -> str:
    """What running ``spec`` (an ``experiments.spec.Spec``) in ``root`` does to what is there.

    Returns ``"new"`` (nothing there), ``"same"`` (the directory holds this experiment: it
    resumes, or is already done), ``"extend"`` (another experiment whose finished batches are all
    in ``planned``, the config hashes of the new plan: more seeds, say; nothing is lost) or
    ``"replace"`` (another experiment, with ``overwrite`` or with no finished run). Raises
    ``NotAStore`` for a directory with files but no store (whatever ``overwrite`` says: the
    store never deletes what it did not write) and ``OtherExperiment`` when finished runs of
    another experiment would otherwise be replaced. Runs both experiments share are kept either
    way (a batch is a pure function of kind, cell and seeds); extending or replacing keeps the
    old experiment whole until the new one has finished (``Store(replacing=True)``).
    """
    from dynaplan.experiments.spec import SpecError, parse_spec

    root = Path(root)
    if root.exists() and not root.is_dir():
        raise StoreError(f"{root}: exists and is not a directory; choose another directory")
    if not root.exists() or not any(p.name != LOCK for p in root.iterdir()):  # a lock alone: a store never begun
        return "new"
    if not is_store(root):
        raise NotAStore(root)
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
    raise OtherExperiment(root, done, difference)


def stored_experiment(root: Path, *, validate: bool = True) -> Any:
    """The spec stored in ``root`` (an ``experiments.spec.Spec``, validated unless told not to);
    ``NothingToResume`` when there is none."""
    from dynaplan.experiments.spec import parse_spec

    text = Store(root).stored_spec() if Path(root).is_dir() else None
    if text is None:
        raise NothingToResume(Path(root))
    return parse_spec(text, source=str(Path(root) / SPEC_FILE), validate=validate)


def check_resume(root: Path, spec: Any, stored: Any = None) -> None:
    """For resuming: ``root`` must hold the experiment ``spec`` describes (``stored``: its stored
    spec, if already read); ``NotTheStoredExperiment`` naming the first key that differs, or
    ``NothingToResume``."""
    stored = stored if stored is not None else stored_experiment(root, validate=False)
    difference = spec.difference(stored)
    if difference:
        raise NotTheStoredExperiment(Path(root), difference.replace(" there", " in the store"))


def clear_outputs(root: Path) -> list[Path]:
    """Remove the tables and figures the manifest of ``root`` lists as the experiment's outputs
    (nothing else: a file the store did not write is never removed); returns the files removed."""
    removed = []
    for name in listed_outputs(read_manifest(root)):
        path = Path(root) / name
        if path.is_file():
            path.unlink()
            removed.append(path)
    return removed
