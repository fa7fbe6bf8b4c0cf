"""Interrupting a sweep loses nothing and leaves nothing behind.

The CLI runs a sweep on 2 worker processes in its own process group; once the first batch is
saved it gets SIGINT, SIGTERM or SIGKILL (to the whole group, as Ctrl-C, ``kill`` of a job or
an out-of-memory killer would send them; and SIGTERM or SIGKILL to the main process only, as
``kill PID`` does: its workers must not live on). Then: no process of the group is left, the
store's lock is free, and the same command with ``--resume`` gives the table of an
uninterrupted run, cell for cell.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from dynaplan.experiments.runner import run_spec
from dynaplan.experiments.spec import parse_spec

SPEC = """
name = "interrupt"
kind = "episodes"
seeds = 12
root_seed = 5
batch = 1
[params]
env = "dynaplan/DynaMaze-v0"
agent = "dyna-q"
episodes = 20
[grid]
planning_steps = [5, 50]
"""
SRC = str(Path(__file__).resolve().parents[1] / "src")


@pytest.fixture(scope="module")
def reference() -> pd.DataFrame:
    return run_spec(parse_spec(SPEC, source="interrupt.toml"), None, workers=1).table


def cli(*args: str, **kw: Any) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.Popen([sys.executable, "-m", "dynaplan.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, **kw)


def group_alive(pgid: int) -> list[int]:
    """Pids of live (non-zombie) processes in process group ``pgid``."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()
        if fields[0] != "Z" and int(fields[2]) == pgid:
            pids.append(int(stat.parent.name))
    return pids


def lock_is_free(d: Path) -> bool:
    with open(d / ".lock", "a+") as f:
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False
        fcntl.flock(f.fileno(), fcntl.LOCK_UN)
        return True


@pytest.mark.parametrize("how", ["INT-group", "TERM-group", "KILL-group", "TERM-main", "HUP-main", "KILL-main"])
def test_interrupt_then_resume_gives_the_identical_table(how: str, reference: pd.DataFrame, tmp_path: Path) -> None:
    spec_file = tmp_path / "s.toml"
    spec_file.write_text(SPEC)
    out = tmp_path / "out"
    proc = cli("run", str(spec_file), "--out", str(out), "--workers", "2", start_new_session=True)
    deadline = time.monotonic() + 120
    while not list((out / "runs").glob("*.parquet")):  # mid-sweep: the first batch is saved
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.01)
    name, target = how.split("-")
    sig = getattr(signal, f"SIG{name}")
    if target == "group":
        os.killpg(proc.pid, sig)
    else:
        os.kill(proc.pid, sig)
    _, err = proc.communicate(timeout=60)
    assert "Traceback" not in err
    if name == "KILL":
        assert proc.returncode == -signal.SIGKILL
    else:
        assert proc.returncode == 128 + sig, err  # the shell's status for the signal: 130, 143, 129
        assert "--resume" in err  # where the finished runs are and how to continue
    for _ in range(200):  # workers are killed by their parent (or die with it): give them a moment
        if not group_alive(proc.pid):
            break
        time.sleep(0.05)
    assert group_alive(proc.pid) == []
    assert lock_is_free(out)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == ("running" if name == "KILL" else "interrupted")
    assert 0 < manifest["runs_done"] < 24 or name == "KILL"

    again = cli("run", "--resume", "--out", str(out), "--workers", "2")
    stdout, err = again.communicate(timeout=180)
    assert again.returncode == 0, err
    assert "runs were already done" in stdout
    if name == "KILL":  # the killed run left its pid in the lock file: taken over, with a line
        assert "ended without releasing" in err
    pd.testing.assert_frame_equal(pd.read_parquet(out / "results.parquet"), reference, check_exact=True)
    assert lock_is_free(out)


@pytest.mark.parametrize("where", ["between-batches", "inside-a-batch"])
def test_sighup_in_process_is_an_interrupt_and_releases_the_lock(where: str, tmp_path: Path, monkeypatch: Any) -> None:
    """SIGHUP (the terminal closed) takes the same way out as Ctrl-C: ``run_spec`` raises
    ``Terminated`` (a ``KeyboardInterrupt``) carrying the signal, whether it lands between two
    batches (sent from the progress callback, once the first batch is stored) or inside one
    (sent from the compiled loop's chunker, between two chunks of the first run: ``run_batch``
    raises ``BatchInterrupted`` there); the store is marked interrupted with the stored batches
    kept, its lock released, the handler removed, and ``--resume`` gives the uninterrupted table.
    The signal is sent from inside the run at a known point, never by a timer."""
    import dynaplan.experiments.kinds as kinds
    from dynaplan.core.loop import Chunker
    from dynaplan.experiments.batch import BatchInterrupted
    from dynaplan.experiments.runner import Terminated

    spec = parse_spec(SPEC, source="interrupt.toml").with_overrides({"seeds": 4, "batch": 2, "episodes": 3})
    expected = run_spec(spec, None, workers=1).table
    sent: list[str] = []

    def hang_up(at: str) -> None:
        if not sent:
            sent.append(at)
            os.kill(os.getpid(), signal.SIGHUP)

    class HangUpChunker(Chunker):
        def update(self, steps: int, elapsed: float) -> None:
            super().update(steps, elapsed)
            hang_up("chunk")

    real_run_batch = kinds.run_batch
    seen: list[BaseException] = []

    def run_batch(*args: Any, **kwargs: Any) -> Any:
        try:
            return real_run_batch(*args, **{**kwargs, "chunker": HangUpChunker()})
        except BatchInterrupted as exc:
            seen.append(exc)
            raise

    progress = None
    if where == "inside-a-batch":
        monkeypatch.setattr(kinds, "run_batch", run_batch)
    else:
        def progress(n: int) -> None:
            hang_up("progress")
    previous = signal.signal(signal.SIGHUP, signal.SIG_DFL)  # as in a terminal (not under nohup)
    try:
        with pytest.raises(Terminated) as info:
            run_spec(spec, tmp_path, workers=1, progress=progress)
        assert signal.getsignal(signal.SIGHUP) == signal.SIG_DFL  # the run's handler is gone
    finally:
        signal.signal(signal.SIGHUP, previous)
    assert isinstance(info.value, KeyboardInterrupt) and info.value.signum == signal.SIGHUP
    assert sent == ["chunk" if where == "inside-a-batch" else "progress"]
    if where == "inside-a-batch":  # the batch's own exception, with the signal, became the runner's
        assert len(seen) == 1 and seen[0].signum == signal.SIGHUP and seen[0].results == []  # type: ignore[attr-defined]
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    assert manifest["runs_done"] == (0 if where == "inside-a-batch" else 2)
    assert lock_is_free(tmp_path)
    monkeypatch.undo()
    again = run_spec(spec, tmp_path, workers=1, resume=True)
    assert (again.runs_reused, again.runs_done) == ((0, 8) if where == "inside-a-batch" else (2, 6))
    pd.testing.assert_frame_equal(again.table, expected, check_exact=True)


def _compile_with_a_signal_in_a_ctypes_callback(sig: int) -> tuple[Any, list[int]]:
    """A fresh (uncached) Numba function compiled while ``sig`` is sent to this process from
    inside a ctypes callback, where llvmlite's object cache calls back into Python during code
    generation: a handler that raises there cannot propagate (Python prints "Exception ignored"
    and goes on). Returns the function (called once with 1) and the signals sent."""
    import ctypes

    from numba import njit
    from numba.core import event

    sent: list[int] = []

    def in_callback() -> None:
        sent.append(sig)
        os.kill(os.getpid(), sig)
        sum(range(1000))  # bytecodes: Python runs the pending signal's handler here

    callback = ctypes.CFUNCTYPE(None)(in_callback)

    class During(event.Listener):
        def on_start(self, event: Any) -> None:
            if not sent:
                callback()

        def on_end(self, event: Any) -> None:
            pass

    def plus_one(x: int) -> int:
        return x + 1

    fn = njit(cache=False)(plus_one)
    with event.install_listener("numba:compiler_lock", During()):
        fn(1)
    return fn, sent


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # the lost Ctrl-C, shown
def test_a_signal_during_a_numba_compile_is_raised_when_the_compile_ends() -> None:
    """Inside ``signals_interrupt`` a Ctrl-C or SIGTERM that lands during a compile is raised
    once the compile is over (the kernel compiled); outside, the same Ctrl-C is lost."""
    from dynaplan.experiments.interrupts import Terminated, signals_interrupt

    old = signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal (xdist may ignore it)
    # SIGTERM's default action, as in a fresh CLI process (a test worker that ran Ray has Ray's handler)
    old_term = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        fn, sent = _compile_with_a_signal_in_a_ctypes_callback(signal.SIGINT)  # no deferral: lost
        assert sent == [signal.SIGINT] and fn(2) == 3
        for sig, raised in ((signal.SIGINT, KeyboardInterrupt), (signal.SIGTERM, Terminated)):
            with signals_interrupt(), pytest.raises(raised) as info:
                fn, sent = _compile_with_a_signal_in_a_ctypes_callback(sig)
            assert getattr(info.value, "signum", signal.SIGINT) == sig
            assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # handlers put back
            assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    finally:
        signal.signal(signal.SIGINT, old)
        signal.signal(signal.SIGTERM, old_term)
