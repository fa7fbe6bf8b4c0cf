"""Cache stamps of compiled functions that embed kernels registered at run time.

Both protocols (the agent protocol, ``planning.protocol``, and the model protocol,
``models.protocol``) let code outside the package register kernels that package functions are
then compiled with: ``run_loop`` embeds a user's ``act`` / ``observe``, ``mcts_run`` a user's
model sampler. Such a package function is marked :func:`generic` (a decorator, outermost).

The package's own kernels are covered by the package-wide source hash (``dynaplan._cache``).
For kernels registered from outside the package, the hash of their source files is folded into
every generic function's cache stamp, so editing them recompiles it, and those functions get
index and data files of their own: Numba's index file pickles the argument types of every
compiled signature and unpickles them before it checks the stamp, so a user's record type must
never enter the index that other processes (which cannot import the user's module) read.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from dynaplan._cache import PACKAGE_DIR, SOURCE_HASH

_REGISTERED: list[Callable[..., Any]] = []
_GENERIC: list[Any] = []


def note_kernels(functions: Iterable[Callable[..., Any] | None]) -> None:
    """Record kernels just registered with a protocol; restamp the generic functions if any of
    them (or of those registered before) comes from outside the package."""
    _REGISTERED.extend(fn for fn in functions if fn is not None)
    if external_files():
        for dispatcher in _GENERIC:
            _restamp(dispatcher)


def generic(dispatcher: Any) -> Any:
    """Mark a compiled function whose machine code embeds registered kernels (outermost decorator)."""
    _GENERIC.append(dispatcher)
    _restamp(dispatcher)
    return dispatcher


def external_files() -> list[str]:
    """The source files of registered kernels that live outside the package (sorted)."""
    files = set()
    for fn in _REGISTERED:
        path = inspect.getsourcefile(getattr(fn, "py_func", fn))
        if path and not Path(path).resolve().is_relative_to(PACKAGE_DIR):
            files.add(path)
    return sorted(files)


def _restamp(dispatcher: Any) -> None:
    cache_file = getattr(getattr(dispatcher, "_cache", None), "_cache_file", None)
    if cache_file is None or not hasattr(cache_file, "_index_path"):
        return
    if not hasattr(cache_file, "_dynaplan_files"):
        cache_file._dynaplan_files = (cache_file._index_path, cache_file._data_name_pattern)
    index_path, data_pattern = cache_file._dynaplan_files
    files = external_files()
    if not files:
        cache_file._index_path, cache_file._data_name_pattern = index_path, data_pattern
        cache_file._source_stamp = SOURCE_HASH
        return
    digest = hashlib.sha256(SOURCE_HASH.encode())
    for path in files:
        digest.update(path.encode())
        digest.update(Path(path).read_bytes())
    tag = "-x" + digest.hexdigest()[:12]
    cache_file._index_path = index_path[: -len(".nbi")] + tag + ".nbi"
    cache_file._data_name_pattern = data_pattern.replace(".{number:d}.nbc", tag + ".{number:d}.nbc")
    cache_file._source_stamp = digest.hexdigest()[:16]
