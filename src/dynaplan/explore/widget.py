"""``dynaplan.Explorer``: the explorer as an anywidget widget (Jupyter, JupyterLab, VS Code, Colab, marimo).

The front end is ``static/explorer.js`` (plain JavaScript, shipped with the package, nothing
fetched); it talks to a :class:`~dynaplan.explore.session.Session` through the widget's custom
messages: each message from the page is answered by ``session.handle`` (the same protocol as
the standalone page's ``POST /api``). The kernels run here, in the notebook's Python process.

While the page runs, the kernel pushes the frames (a notebook's round trip, 50-60 ms in
JupyterLab, would otherwise set the frame rate): ``run`` (``steps`` real steps per frame,
``rate`` frames per second, at most 60) starts a thread that steps the session and sends a frame
at that rate, never more than ``MAX_AHEAD`` frames ahead of the last the page acknowledged
(``ack``), so a slow page is never flooded; ``pause`` stops it. Every other message is handled
between two frames (one lock around the session).
"""

from __future__ import annotations

import numbers
import threading
import time
from pathlib import Path
from typing import Any

try:
    import anywidget
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("dynaplan.Explorer needs anywidget: pip install 'dynaplan[explore]'") from exc

from dynaplan.envs.layouts import DYNA_MAZE, load_layout
from dynaplan.explore.session import MAX_ID, MAX_STEPS_PER_MESSAGE, Session, StepSummary

STATIC = Path(__file__).parent / "static"
MAX_RATE = 60.0
MAX_AHEAD = 8


class Explorer(anywidget.AnyWidget):  # type: ignore[misc]
    """An interactive maze: edit it with the mouse, pick agents, run, pause, step, watch them plan.

    ``Explorer(maze=None, agent="dyna-q", params=None, seed=0, compare=None)``: ``maze`` is layout
    text, a path or a ``MazeLayout`` (default: the Dyna maze of Example 8.1); ``compare`` a
    second ``(agent, params)`` shown side by side on the same maze and seed, e.g.
    ``Explorer(agent="dyna-q", params={"planning_steps": 0}, compare=("dyna-q", {"planning_steps": 50}))``.

    From Python: ``explorer.step(n)`` takes ``n`` real steps (the page redraws; it returns a one-line
    :class:`~dynaplan.explore.session.StepSummary`), and
    ``explorer.session`` is the session itself (``session.lanes[i].agent`` the agents).
    """

    _esm = STATIC / "explorer.js"
    _css = STATIC / "explorer.css"

    def __init__(self, maze: Any = None, agent: str = "dyna-q", params: dict[str, Any] | None = None,
                 seed: int = 0, compare: tuple[str, dict[str, Any]] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        layout = load_layout(maze if maze is not None else DYNA_MAZE)
        self.session = Session(layout, agent=agent, params=params, seed=seed)
        if compare is not None:
            lanes = [{"agent": agent, "params": params or {}}, {"agent": compare[0], "params": dict(compare[1])}]
            reply = self.session.handle({"type": "configure", "lanes": lanes, "seed": seed})
            if reply["type"] == "error":
                raise ValueError(reply["message"])
        self._lock = threading.RLock()
        self._wake = threading.Condition()
        self._runner: threading.Thread | None = None
        self._run = {"steps": 1, "rate": MAX_RATE, "on": False, "sent": 0, "acked": 0}
        self.on_msg(self._on_message)

    # -- messages from the page ---------------------------------------------------------------
    def _on_message(self, widget: Any, content: Any, buffers: Any) -> None:
        kind = content.get("type") if isinstance(content, dict) else None
        if kind in ("run", "pause", "ack"):
            reply = self._control(content)
            if reply is None:
                return
        else:
            with self._lock:
                reply = self.session.handle(content)
            if kind == "hello" and reply["type"] == "init":
                reply["pushes"] = True  # this transport can push frames: the page asks for them with run
        self.send(reply)

    def _control(self, msg: dict[str, Any]) -> dict[str, Any] | None:
        """``run``, ``pause`` and ``ack``; an error reply for a malformed one, else nothing."""
        kind = msg["type"]
        allowed = {"run": {"type", "id", "steps", "rate"}, "pause": {"type", "id"},
                   "ack": {"type", "id", "frame"}}[kind]
        extra = set(map(str, msg)) - allowed
        error = f"{kind}: unknown key(s) {', '.join(sorted(extra)[:5])}" if extra else None
        if kind == "run" and error is None:
            steps, rate = msg.get("steps", 1), msg.get("rate", MAX_RATE)
            if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= MAX_STEPS_PER_MESSAGE:
                error = f"run.steps: expected an integer in [1, {MAX_STEPS_PER_MESSAGE}]"
            elif isinstance(rate, bool) or not isinstance(rate, int | float) or not 0.1 <= rate <= MAX_RATE:
                error = f"run.rate: expected frames per second in [0.1, {MAX_RATE:g}]"
            else:
                with self._wake:
                    if not self._run["on"]:  # a new run: frames are counted from 1 again
                        self._run.update(sent=0, acked=0)
                    self._run.update(steps=steps, rate=float(rate), on=True)
                    self._wake.notify_all()
                if self._runner is None or not self._runner.is_alive():
                    self._runner = threading.Thread(target=self._pump, name="dynaplan-explorer", daemon=True)
                    self._runner.start()
        elif kind == "pause" and error is None:
            with self._wake:
                self._run["on"] = False
                self._wake.notify_all()
        elif kind == "ack" and error is None:
            frame = msg.get("frame")
            if isinstance(frame, bool) or not isinstance(frame, int) or not 0 <= frame <= MAX_ID:
                error = "ack.frame: expected a frame number"
            else:
                with self._wake:
                    self._run["acked"] = max(self._run["acked"], frame)
                    self._wake.notify_all()
        if error is None:
            return None
        reply: dict[str, Any] = {"type": "error", "message": error}
        if isinstance(msg.get("id"), int) and not isinstance(msg.get("id"), bool):
            reply["id"] = msg["id"]
        return reply

    def _pump(self) -> None:
        """The run thread: step, push a frame, wait for the next tick (or for the page to catch up)."""
        next_at = time.perf_counter()
        while True:
            with self._wake:
                while self._run["on"] and self._run["sent"] - self._run["acked"] >= MAX_AHEAD:
                    self._wake.wait(0.5)
                if not self._run["on"]:
                    return
                steps, rate = self._run["steps"], self._run["rate"]
            with self._lock:
                reply = self.session.handle({"type": "step", "steps": steps})
            with self._wake:
                if not self._run["on"]:  # paused while stepping: the page still gets what was done
                    self.send(reply)
                    return
                self._run["sent"] += 1
                reply["push"] = self._run["sent"]
            self.send(reply)
            if reply["type"] == "error":
                with self._wake:
                    self._run["on"] = False
                return
            next_at = max(next_at + 1.0 / rate, time.perf_counter() - 0.1)
            delay = next_at - time.perf_counter()
            if delay > 0:
                with self._wake:
                    self._wake.wait(delay)

    # -- from Python -----------------------------------------------------------------------------
    def step(self, n: int = 1) -> StepSummary:
        """Take ``n`` real steps from Python (in messages of bounded work); the page draws the last
        frame. Returns a short summary (its repr is one line), not the frame."""
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
            raise ValueError(f"step: n must be a positive integer, got {n!r}")
        left = int(n)
        with self._lock:
            while left > 0:
                reply = self.session.handle({"type": "step", "steps": min(left, MAX_STEPS_PER_MESSAGE)})
                if reply["type"] == "error":
                    raise ValueError(reply["message"])
                left -= reply["stepped"]
            summary = self.session.summary(int(n))
        self.send(reply)
        return summary
