"""Cache stamps of compiled functions that embed kernels registered at run time.

Both protocols (the agent protocol, ``core.kernels``, and the model protocol,
``models.protocol``) let code outside the package register kernels that package functions are
then compiled with: ``run_loop`` embeds a user's ``act`` / ``observe``, ``mcts_run`` a user's
model sampler. Such a package function is marked :func:`generic` (a decorator, outermost).

The package's own kernels are covered by the package-wide source hash (``dynaplan._cache``).
For kernels registered from outside the package, the hash of their source files is folded into
every generic function's cache stamp, so editing them recompiles it, and those functions get
index and data files of their own: Numba's index file pickles the argument types of every
compiled signature and unpickles them before it checks the stamp, so a user's record type must
never enter the index that other processes (which cannot import the user's module) read.

"Their source files" are every file outside the package and outside the installed packages
(site-packages, the standard library) that the registered kernels *reach*: the kernel's own
file, and, transitively, the files of the compiled functions and modules its code names
(``helpers.step(...)`` or ``from helpers import step``), its closures' too. Editing a helper a
user's kernel calls therefore recompiles as editing the kernel does. A reached function with
no source file (defined in ``python -c``, at the interactive prompt or from standard input)
cannot be hashed: the generic functions then run uncached in this process (compiled, never
saved or loaded), never with stale machine code.
"""

from __future__ import annotations

import hashlib
import sysconfig
import types
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from numba.core import caching

from dynaplan._cache import PACKAGE_DIR, SOURCE_HASH

_REGISTERED: list[Callable[..., Any]] = []
_GENERIC: list[Any] = []


def note_kernels(functions: Iterable[Callable[..., Any] | None]) -> None:
    """Record kernels just registered with a protocol; restamp the generic functions if any of
    them (or of those registered before) comes from outside the package."""
    new = [fn for fn in functions if fn is not None]
    _REGISTERED.extend(new)
    _restamp_external(new)
    stamp = _digest_or_none()
    if stamp is None or stamp[0]:
        for dispatcher in _GENERIC:
            _restamp(dispatcher)


def _files_digest(files: Iterable[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(str(path).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _restamp_external(functions: Iterable[Callable[..., Any]]) -> None:
    """Stamp the user's own cached kernels (``njit(cache=True)`` outside the package) with the
    files they reach: Numba checks only a function's own file, and would load a kernel compiled
    with an old version of a helper it calls. Without a source file somewhere: no caching."""
    dispatchers: list[Any] = []
    try:
        _reached_files(functions, dispatchers)
    except _Sourceless:
        dispatchers = [fn for fn in functions if hasattr(fn, "_cache")]
        for d in dispatchers:
            d._cache = caching.NullCache()
        return
    for d in dispatchers:
        cache_file = getattr(getattr(d, "_cache", None), "_cache_file", None)
        if cache_file is None or not hasattr(cache_file, "_source_stamp"):
            continue
        if not hasattr(cache_file, "_dynaplan_own_stamp"):
            cache_file._dynaplan_own_stamp = cache_file._source_stamp
        try:
            reached = _files_digest(_reached_files([d]))
        except (_Sourceless, OSError):
            d._cache = caching.NullCache()
            continue
        cache_file._source_stamp = (cache_file._dynaplan_own_stamp, reached)


def generic(dispatcher: Any) -> Any:
    """Mark a compiled function whose machine code embeds registered kernels (outermost decorator)."""
    _GENERIC.append(dispatcher)
    _restamp(dispatcher)
    return dispatcher


_INSTALLED = tuple(
    Path(p).resolve() for p in {sysconfig.get_paths()[k] for k in ("stdlib", "platstdlib", "purelib", "platlib")}
)


def _stable(path: Path) -> bool:
    """Whether ``path`` is covered without hashing: the package (its own source hash) or installed code."""
    return path.is_relative_to(PACKAGE_DIR) or any(path.is_relative_to(p) for p in _INSTALLED) or any(
        part in ("site-packages", "dist-packages") for part in path.parts
    )


def _code_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _code_names(const)
    return names


class _Sourceless(Exception):
    """A reached function has no source file to hash."""


def _reached_files(functions: Iterable[Callable[..., Any]], dispatchers: list[Any] | None = None) -> set[Path]:
    """Files outside the package and installed code that ``functions`` reach (module docstring);
    ``_Sourceless`` if one of them has no source file. The compiled functions met on the way
    (outside the package) are appended to ``dispatchers``."""
    files: set[Path] = set()
    seen: set[int] = set()
    todo: list[Any] = list(functions)
    while todo:
        obj = todo.pop()
        fn = getattr(obj, "py_func", obj)
        if not isinstance(fn, types.FunctionType) or id(fn) in seen:
            continue
        seen.add(id(fn))
        filename = fn.__code__.co_filename
        path = Path(filename)
        if not path.is_file():
            raise _Sourceless(filename)
        path = path.resolve()
        if _stable(path):
            continue
        files.add(path)
        if dispatchers is not None and obj is not fn:
            dispatchers.append(obj)
        names = _code_names(fn.__code__)
        values = [fn.__globals__[n] for n in names if n in fn.__globals__]
        values += [c.cell_contents for c in fn.__closure__ or () if c.cell_contents is not None]
        for value in values:
            if isinstance(value, types.ModuleType):
                module_file = getattr(value, "__file__", None)
                if module_file and not _stable(Path(module_file).resolve()):
                    files.add(Path(module_file).resolve())
                    todo += [getattr(value, n) for n in names if hasattr(value, n)]
            elif hasattr(value, "py_func") or isinstance(value, types.FunctionType):
                todo.append(value)
    return files


def external_files() -> list[str]:
    """The source files outside the package that registered kernels reach (sorted); raises
    ``_Sourceless`` if one of the reached functions has no source file."""
    return sorted(str(p) for p in _reached_files(_REGISTERED))


def _digest_or_none() -> tuple[list[str], str] | None:
    """(files, their hash) for the registered kernels; None if they cannot be hashed."""
    try:
        files = external_files()
        digest = hashlib.sha256(SOURCE_HASH.encode())
        for path in files:
            digest.update(path.encode())
            digest.update(Path(path).read_bytes())
    except (_Sourceless, OSError):
        return None
    return files, digest.hexdigest()


def _restamp(dispatcher: Any) -> None:
    cache_file = getattr(getattr(dispatcher, "_cache", None), "_cache_file", None)
    if cache_file is None or not hasattr(cache_file, "_index_path"):
        return
    if not hasattr(cache_file, "_dynaplan_files"):
        cache_file._dynaplan_files = (cache_file._index_path, cache_file._data_name_pattern)
    index_path, data_pattern = cache_file._dynaplan_files
    stamp = _digest_or_none()
    if stamp is None:  # a kernel without a source file: compile in memory only, from now on
        dispatcher._dynaplan_cache = dispatcher._cache
        dispatcher._cache = caching.NullCache()
        return
    files, digest = stamp
    if not files:
        cache_file._index_path, cache_file._data_name_pattern = index_path, data_pattern
        cache_file._source_stamp = SOURCE_HASH
        return
    tag = "-x" + digest[:12]
    cache_file._index_path = index_path[: -len(".nbi")] + tag + ".nbi"
    cache_file._data_name_pattern = data_pattern.replace(".{number:d}.nbc", tag + ".{number:d}.nbc")
    cache_file._source_stamp = digest[:16]
