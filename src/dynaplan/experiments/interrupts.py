"""Signals that end a run: SIGINT, SIGTERM and SIGHUP take the same way out, each with its own
exit status.

Python raises ``KeyboardInterrupt`` for SIGINT; inside ``signals_interrupt`` SIGTERM (``kill``,
a job scheduler, a container stop) and SIGHUP (the terminal closed) raise ``Terminated``, a
``KeyboardInterrupt`` carrying the signal, so one clean-up path (workers stopped, finished runs
kept, the store marked ``interrupted``, its lock released) serves all three. The process then
exits with the shell's status for the signal, ``128 + signum`` (``exit_status``): 130 for SIGINT,
143 for SIGTERM, 129 for SIGHUP (POSIX shells, "Exit Status" in the Shell Command Language of
IEEE Std 1003.1).

Standard library only: the CLI installs the handlers before importing anything heavy.
"""

from __future__ import annotations

import contextlib
import signal
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
