"""Compile cache for dynaplan's Numba kernels, keyed on the whole package's source.

Numba's own cache checks only the file that holds a function. dynaplan's generic kernels
(`core.kernels`) dispatch to algorithm kernels written in other files, so a change to
`dyna_q.py` would leave a stale, silently wrong `run_episodes` in the cache. This locator
stores every dynaplan kernel under a directory named by a hash of all of the package's
sources: any edit to any module starts a fresh cache. It applies only to files inside this
package; the user's own Numba code keeps Numba's default behaviour.

The cache lives in ``$DYNAPLAN_CACHE_DIR`` or ``~/.cache/dynaplan/numba``.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from numba.core import caching

PACKAGE_DIR = Path(__file__).resolve().parent


def _source_hash() -> str:
    digest = hashlib.sha256()
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        digest.update(str(path.relative_to(PACKAGE_DIR)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


SOURCE_HASH = _source_hash()


def cache_root() -> Path:
    """Directory that holds the compiled kernels of this exact source tree."""
    base = os.environ.get("DYNAPLAN_CACHE_DIR") or os.path.join(
        os.path.expanduser("~"), ".cache", "dynaplan", "numba"
    )
    return Path(base) / SOURCE_HASH


class _PackageCacheLocator(caching._CacheLocator):
    def __init__(self, py_func, py_file):  # type: ignore[no-untyped-def]
        self._py_file = py_file
        self._lineno = py_func.__code__.co_firstlineno
        rel = Path(py_file).resolve().relative_to(PACKAGE_DIR)
        self._cache_path = str(cache_root() / rel.parent)

    def get_cache_path(self) -> str:
        return self._cache_path

    def get_source_stamp(self) -> str:
        return SOURCE_HASH

    def get_disambiguator(self) -> str:
        return str(self._lineno)

    @classmethod
    def from_function(cls, py_func, py_file):  # type: ignore[no-untyped-def]
        try:
            Path(py_file).resolve().relative_to(PACKAGE_DIR)
        except (ValueError, OSError):
            return None
        self = cls(py_func, py_file)
        try:
            self.ensure_cache_path()
        except OSError:
            return None
        return self


def install() -> None:
    """Put the package locator first in Numba's list (idempotent)."""
    classes = caching.CacheImpl._locator_classes
    if _PackageCacheLocator not in classes:
        classes.insert(0, _PackageCacheLocator)


KEEP = 5
"""How many source versions' compiled kernels to keep (the most recently used ones)."""


def prune(root: Path | None = None, keep: int = KEEP) -> list[Path]:
    """Mark this source version's cache as used and remove all but the ``keep`` most recently used.

    Every edit of the package starts a new cache directory; without pruning they pile up (a few
    MB each). A removed directory is only a recompilation for a process that still wanted it.
    Returns the directories removed.
    """
    root = root or cache_root()
    try:
        root.mkdir(parents=True, exist_ok=True)
        os.utime(root)
        versions = sorted(
            (d for d in root.parent.iterdir() if d.is_dir()), key=lambda d: d.stat().st_mtime, reverse=True
        )
    except OSError:
        return []
    removed = []
    for old in versions[keep:]:
        if old != root:
            shutil.rmtree(old, ignore_errors=True)
            removed.append(old)
    return removed


install()
prune()
