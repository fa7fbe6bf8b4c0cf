"""The lock of a result store: ``DIR/.lock``, held (``flock``) by the process running in it.

A second run on the same directory is an error, not a race; the lock goes with the process,
however it ends. The file holds the holder's pid and host, so that a lock left by a killed run
is recognised and taken over with a line saying so.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dynaplan.experiments.store.files import StoreError

__all__ = ["LOCK", "DirLock", "release_inherited_locks"]

LOCK = ".lock"

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


def pid_alive(pid: int) -> bool:
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


def dead_holder(path: Path) -> int | None:
    """The pid written in the lock file if it names an ended process of this host, else None."""
    try:
        pid_text, host = path.read_text().split()[:2]
        pid = int(pid_text)
    except (OSError, ValueError):
        return None
    if host != socket.gethostname() or pid == os.getpid() or pid_alive(pid):
        return None
    return pid


class DirLock:
    """``root/.lock``, taken with ``acquire`` and given back with ``release``."""

    def __init__(self, root: Path, notify: Callable[[str], None]) -> None:
        self.root = Path(root)
        self.notify = notify
        self._file: Any = None

    @property
    def held(self) -> bool:
        return self._file is not None

    def acquire(self) -> None:
        """Hold the lock (``StoreError`` if a live process holds it). A lock file naming a
        process of this host that has ended was left by a run that was killed: if the lock is
        still held (by a process that inherited it), it is taken over by replacing the file."""
        try:
            import fcntl
        except ImportError:  # pragma: no cover - not POSIX
            return
        if self._file is not None:
            return
        path = self.root / LOCK
        for attempt in range(2):
            f = open(path, "a+")  # noqa: SIM115 - held until release()
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                f.close()
                holder = dead_holder(path)
                if holder is None or attempt:
                    raise StoreError(f"{self.root}: another dynaplan run is using this directory") from None
                self.notify(f"{self.root}: the lock of process {holder}, which has ended, is still held "
                            "(by a process it started); taking it over")
                path.unlink(missing_ok=True)
                continue
            holder = dead_holder(path)
            if holder is not None:
                self.notify(f"{self.root}: process {holder} ended without releasing this directory; taking it over")
            f.seek(0)
            f.truncate()
            f.write(f"{os.getpid()} {socket.gethostname()}\n")
            f.flush()
            self._file = f
            _HELD_LOCKS.append(f)
            return

    def release(self) -> None:
        """Give the lock back (the file is emptied: no pid left for the next run)."""
        f = self._file
        if f is None:
            return
        with contextlib.suppress(OSError):
            f.seek(0)
            f.truncate()
        if f in _HELD_LOCKS:
            _HELD_LOCKS.remove(f)
        f.close()
        self._file = None
