"""``dynaplan.Explorer``: the explorer as an anywidget widget (Jupyter, JupyterLab, VS Code, Colab, marimo).

The front end is ``static/explorer.js`` (plain JavaScript, shipped with the package, nothing
fetched); it talks to a :class:`~dynaplan.explore.session.Session` through the widget's custom
messages: each message from the page is answered by ``session.handle`` (the same protocol as
the standalone page's ``POST /api``). The kernels run here, in the notebook's Python process.
"""

from __future__ import annotations

import numbers
from pathlib import Path
from typing import Any

try:
    import anywidget
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError("dynaplan.Explorer needs anywidget: pip install 'dynaplan[explore]'") from exc

from dynaplan.envs.layouts import DYNA_MAZE, load_layout
from dynaplan.explore.session import MAX_STEPS_PER_MESSAGE, Session, StepSummary

STATIC = Path(__file__).parent / "static"


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
        self.on_msg(self._on_message)

    def _on_message(self, widget: Any, content: Any, buffers: Any) -> None:
        self.send(self.session.handle(content))

    def step(self, n: int = 1) -> StepSummary:
        """Take ``n`` real steps from Python (in messages of bounded work); the page draws the last
        frame. Returns a short summary (its repr is one line), not the frame."""
        if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
            raise ValueError(f"step: n must be a positive integer, got {n!r}")
        left = int(n)
        while left > 0:
            reply = self.session.handle({"type": "step", "steps": min(left, MAX_STEPS_PER_MESSAGE)})
            if reply["type"] == "error":
                raise ValueError(reply["message"])
            left -= reply["stepped"]
        self.send(reply)
        return self.session.summary(int(n))
