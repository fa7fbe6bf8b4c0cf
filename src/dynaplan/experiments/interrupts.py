"""Signals that end a run: SIGINT, SIGTERM and SIGHUP take the same way out, each with its own
exit status.

Python raises ``KeyboardInterrupt`` for SIGINT; inside ``signals_interrupt`` SIGTERM (``kill``,
a job scheduler, a container stop) and SIGHUP (the terminal closed) raise ``Terminated``, a
``KeyboardInterrupt`` carrying the signal, so one clean-up path (workers stopped, finished runs
kept, the store marked ``interrupted``, its lock released) serves all three. The process then
exits with the shell's status for the signal, ``128 + signum`` (``exit_status``): 130 for SIGINT,
143 for SIGTERM, 129 for SIGHUP (POSIX shells, "Exit Status" in the Shell Command Language of
IEEE Std 1003.1).

Numba compiles a kernel on its first call, partly in LLVM, which calls back into Python through
ctypes (llvmlite's object cache). A ``KeyboardInterrupt`` raised inside such a callback cannot
propagate: Python prints "Exception ignored on calling ctypes callback function" and goes on,
so a Ctrl-C during the first compile could be lost (the run went on to the end). While Numba
holds its compiler lock, ``signals_interrupt`` therefore only records SIGINT, SIGTERM and
SIGHUP, and raises the first of them when the lock is released (``CompileDeferral``): no
interrupt is lost, at the price of waiting for the compile in progress (with an empty cache,
Ctrl-C to exit took a median 4.8 s, at most 8.9 s, over 30 runs on a shared 2-core machine; once
the kernels are cached, a load holds the lock for milliseconds). Releasing the lock is the one
clean point: LLVM's own lock is released in a Python callback that must not raise.

Standard library only at import (Numba's event API is used only once Numba is loaded): the CLI
installs the handlers before importing anything heavy.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any

HANDLED = tuple(s for s in (signal.SIGTERM, getattr(signal, "SIGHUP", None)) if s is not None)
"""The signals ``signals_interrupt`` turns into ``Terminated`` (SIGINT is Python's own)."""


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP during a run: handled like Ctrl-C (workers stopped, finished runs kept,
    the store marked ``interrupted`` and its lock released). ``signum``: the signal."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"terminated by {signal.Signals(signum).name}")
        self.signum = signum

    def __reduce__(self) -> tuple[type[Terminated], tuple[int]]:
        return type(self), (self.signum,)


DEFERRED = (signal.SIGINT, *HANDLED)
"""The signals held back while Numba compiles."""


class CompileDeferral:
    """A listener for Numba's ``"numba:compiler_lock"`` event (``numba.core.event``): while the
    main thread holds the compiler lock (a compile, or a load from the cache), the handlers of
    ``DEFERRED`` signals are replaced by one that only records the signal; when the outermost
    hold ends, the handlers are put back and the first recorded signal is passed to its own
    handler (``KeyboardInterrupt`` for SIGINT, ``Terminated`` here, the default action for a
    signal whose handler is ``SIG_DFL``). ``pending``: the signals recorded so far."""

    def __init__(self) -> None:
        self.depth = 0
        self.previous: dict[int, Any] = {}
        self.pending: list[int] = []

    def _record(self, signum: int, frame: Any) -> None:
        self.pending.append(signum)

    def notify(self, event: Any) -> None:
        """Numba's listener interface: ``event.is_start`` / ``event.is_end`` (``numba.core.event.Event``)."""
        if threading.current_thread() is not threading.main_thread():
            return  # Python runs signal handlers in the main thread only
        if event.is_start:
            self.depth += 1
            if self.depth == 1:
                for sig in DEFERRED:
                    old = signal.getsignal(sig)
                    if old is not None:  # a handler not set from Python cannot be put back
                        self.previous[sig] = signal.signal(sig, self._record)
        elif self.depth > 0:
            self.depth -= 1
            if self.depth == 0:
                previous, self.previous = self.previous, {}
                for sig, old in previous.items():
                    signal.signal(sig, old)
                pending, self.pending = self.pending, []
                if pending:
                    _deliver(pending[0], previous.get(pending[0], signal.SIG_DFL))


def _deliver(signum: int, handler: Any) -> None:
    """What the signal would have done, now: call its handler, or its default action."""
    if callable(handler):
        handler(signum, None)
    elif handler == signal.SIG_DFL:
        signal.raise_signal(signum)


_deferral: CompileDeferral | None = None
_deferral_users = 0


@contextlib.contextmanager
def signals_deferred_while_compiling() -> Iterator[CompileDeferral | None]:
    """While inside (in the main thread, with Numba loaded), a signal arriving during a Numba
    compile is raised when the compile ends (``CompileDeferral``); yields the listener (``None``
    when nothing is installed). Nested uses share one listener."""
    global _deferral, _deferral_users
    if threading.current_thread() is not threading.main_thread() or "numba" not in sys.modules:
        yield None
        return
    from numba.core import event

    event.Listener.register(CompileDeferral)  # its interface, without importing Numba above
    if _deferral_users == 0:
        _deferral = CompileDeferral()
        event.register("numba:compiler_lock", _deferral)
    _deferral_users += 1
    try:
        yield _deferral
    finally:
        _deferral_users -= 1
        if _deferral_users == 0 and _deferral is not None:
            event.unregister("numba:compiler_lock", _deferral)
            _deferral = None


@contextlib.contextmanager
def signals_interrupt() -> Iterator[list[int]]:
    """While inside, SIGTERM and SIGHUP raise ``Terminated`` in the main thread, as SIGINT raises
    ``KeyboardInterrupt``: the same clean-up runs for ``kill``, a closed terminal or Ctrl-C
    (the default action would end the process at once, leaving its workers running).

    Yields the list of the signals this context turned into ``Terminated``, in order of arrival
    (for the exit status). A signal whose handler is already set (an enclosing
    ``signals_interrupt``, or the application's own) is left alone; outside the main thread
    (where Python cannot handle signals) it does nothing.
    """
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def handler(signum: int, frame: Any) -> None:
        received.append(signum)
        raise Terminated(signum)

    previous = {}
    for sig in HANDLED:
        if signal.getsignal(sig) in (signal.SIG_DFL, None):
            previous[sig] = signal.signal(sig, handler)
    try:
        with signals_deferred_while_compiling():
            yield received
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def exit_status(exc: BaseException | None = None, received: list[int] | None = None) -> int:
    """The exit status of a process ended by an interrupt: ``128 + signum`` of the signal that
    caused it (``exc.signum`` of a ``Terminated``, else the first of ``received``), 130 (SIGINT)
    for a plain ``KeyboardInterrupt``."""
    signum = getattr(exc, "signum", None)
    if not isinstance(signum, int):
        signum = received[0] if received else int(signal.SIGINT)
    return 128 + int(signum)
