"""The manifest of a result store: what it holds, and the names of every file it wrote.

``manifest.json`` records the experiment (name, kind, spec hash, status, package versions,
times), one entry per batch of runs (cell, seeds, config hash, status, duration, file, sha256,
rows) and ``outputs``: the tables and figures written at the top of the directory. A store
removes only files it can name this way (``store_file``): its run files, its temporary files,
and the outputs its manifest lists. Anything else in the directory is the user's and is never
touched.

While a run replaces the experiment in a directory, its manifest and spec are written as
``manifest.next.json`` and ``spec.next.toml``: the previous experiment stays whole until the
new one has finished (see ``batches.Store.finish``).
"""

from __future__ import annotations

import json
import platform
import re
from pathlib import Path
from typing import Any

from dynaplan.experiments.store.files import atomic_write_bytes, os_problem

__all__ = ["FORMAT", "MANIFEST", "MANIFEST_NEXT", "RUNS_DIR", "SPEC_FILE", "SPEC_NEXT", "TABLES", "finished_batches",
           "finished_runs", "is_run_file", "is_temp_file", "listed_outputs", "manifest_or_problem", "package_versions",
           "read_manifest", "record_output"]

MANIFEST = "manifest.json"
SPEC_FILE = "spec.toml"
MANIFEST_NEXT = "manifest.next.json"
SPEC_NEXT = "spec.next.toml"
RUNS_DIR = "runs"
FORMAT = 1
TABLES = ("results.parquet", "results.csv")
"""The combined table, written by every finished experiment."""

_RUN_FILE = re.compile(r"[0-9a-f]{20}(-[0-9a-f]{16})?\.parquet")
_TEMP_FILE = re.compile(r"\..+\.[A-Za-z0-9_]+\.tmp")


def is_run_file(name: str) -> bool:
    """Whether ``name`` is a run file's name (``runs/HASH-SHA.parquet``; older stores: ``HASH.parquet``)."""
    return _RUN_FILE.fullmatch(name) is not None


def is_temp_file(name: str) -> bool:
    """Whether ``name`` is a temporary file of ``files.atomic_write_bytes`` (``.NAME.XXXXXXXX.tmp``)."""
    return _TEMP_FILE.fullmatch(name) is not None


def package_versions() -> dict[str, str]:
    """Versions of Python and the packages that determine results."""
    import numba
    import numpy
    import pandas
    import pyarrow

    from dynaplan._version import __version__

    return {
        "python": platform.python_version(),
        "dynaplan": __version__,
        "numpy": numpy.__version__,
        "numba": numba.__version__,
        "pandas": pandas.__version__,
        "pyarrow": pyarrow.__version__,
    }


def manifest_or_problem(root: Path, name: str = MANIFEST) -> tuple[dict[str, Any] | None, str | None]:
    """(manifest, None), (None, None) if there is none, or (None, why it cannot be used)."""
    path = Path(root) / name
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None, None
    except (OSError, ValueError) as exc:
        return None, os_problem(exc) if isinstance(exc, OSError) else "not UTF-8 text"
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        return None, f"not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
    except RecursionError:
        return None, "not a dynaplan manifest (nested too deep)"
    if not isinstance(data, dict) or not isinstance(data.get("batches"), list):
        return None, "not a dynaplan manifest"
    if data.get("format") != FORMAT:
        return None, f"format {data.get('format')!r}, expected {FORMAT}"
    return data, None


def read_manifest(root: Path) -> dict[str, Any] | None:
    """The manifest of ``root``, or None if absent or unreadable (then nothing in it is trusted)."""
    return manifest_or_problem(root)[0]


def listed_outputs(manifest: dict[str, Any] | None) -> list[str]:
    """The top-level files a manifest says its experiment wrote (plain names, nothing outside
    the directory). A manifest written before outputs were listed: its tables and ``figure.png``,
    the only outputs stores wrote then."""
    if manifest is None:
        return []
    outputs = manifest.get("outputs")
    if not isinstance(outputs, list):
        return [*TABLES, "figure.png"] if manifest.get("status") == "done" else []
    return [n for n in outputs if isinstance(n, str) and n and Path(n).name == n and n not in (".", "..")]


def record_output(root: Path, path: Path) -> None:
    """Add ``path`` (a file just written at the top of the store ``root``) to the manifest's
    ``outputs``, so that replacing the experiment later removes it and nothing else. A file
    elsewhere, or a directory without a readable manifest, is left unrecorded."""
    root, path = Path(root), Path(path)
    try:
        if path.resolve().parent != root.resolve():
            return
    except OSError:
        return
    manifest = read_manifest(root)
    if manifest is None:
        return
    outputs = listed_outputs(manifest)
    if path.name not in outputs:
        manifest["outputs"] = [*outputs, path.name]
        atomic_write_bytes(root / MANIFEST, (json.dumps(manifest, indent=1) + "\n").encode(), fsync=False)


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
