"""The explorer's Python side: a maze, one or two agents on it, and the message protocol.

The front end (``static/explorer.js``, in a notebook widget or the standalone page) never
computes anything: it sends small JSON messages and draws the frames it gets back. One
:class:`Session` serves both transports; :meth:`Session.handle` takes a decoded message and
returns the reply, and refuses anything malformed with ``{"type": "error", "message": ...}``
(one line naming the problem) without acting on it.

Messages from the page (every one a JSON object with ``"type"`` and an optional integer ``"id"``
echoed in the reply; no other keys than those listed):

* ``hello``: the agent catalogue (every registered agent, its parameters and their defaults),
  the shipped layouts and a frame;
* ``configure``: ``lanes`` (1 or 2 of ``{"agent": name, "params": {...}}``) and ``seed``;
  builds fresh agents on the current maze, all with the same seed (side by side = common
  random numbers);
* ``layout``: ``name`` (a shipped layout) or ``text`` (``#`` wall, ``S``, ``G``, ``.``); new
  agents;
* ``edit``: ``tool`` (``wall``, ``free``, ``start``, ``goal``) and ``cells`` (``[[row, col], ...]``);
  the world changes under agents that keep what they learned (the changing mazes of section 8.3);
  an edit that leaves no reachable goal is refused;
* ``step``: ``steps`` real steps for every agent, then a frame;
* ``reset``: fresh agents with the same configuration; ``frame``: the current frame.

Which pairs planning updated (the flashes): for Dyna-Q, Q-planning, Dyna-Q+ and prioritized
sweeping with a sample model, exactly, from the tracing twins of their kernels
(``explore.tracing``; every backup, in order, even one that leaves Q unchanged). For every
other agent (Q-learning, prioritized sweeping with a distribution model, the search agents'
background planning), from the Q table before and after each real step: the pairs whose value
changed, other than the real pair; a backup that changes nothing is not seen, a pair updated
twice in one step is seen once, and the order within a step is lost. The count of planning
updates is exact for every agent (``planning_steps`` per real step, or the agent's own counter).
"""

from __future__ import annotations

import math
import numbers
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

from dynaplan.agents import AGENTS, TabularAgent
from dynaplan.envs.changing_maze import (
    BLOCKING_MAZE_AFTER,
    BLOCKING_MAZE_BEFORE,
    SHORTCUT_MAZE_AFTER,
    SHORTCUT_MAZE_BEFORE,
    changing_maze_model,
)
from dynaplan.envs.grid_maze import GridMaze
from dynaplan.envs.layouts import DYNA_MAZE, LayoutError, MazeLayout, parse_layout
from dynaplan.envs.tabular import TabularModel
from dynaplan.explore.tracing import TRACED
from dynaplan.models.distribution import DistributionModel
from dynaplan.models.protocol import kernels_of
from dynaplan.models.sample import SampleModel
from dynaplan.search.agent import METHOD_MCTS
from dynaplan.search.mcts import KEY_STATE
from dynaplan.search.tree import MCTSTree

MAZE_10X10 = """
.........G
..#....#..
..#....#..
S.#....#..
..#.......
.....#....
.....#..#.
.....#..#.
........#.
..........
"""

#: Layouts offered by the page's layout menu.
LAYOUTS: dict[str, str] = {
    "dyna-maze": DYNA_MAZE,
    "maze-10x10": MAZE_10X10,
    "blocking-maze (before)": BLOCKING_MAZE_BEFORE,
    "blocking-maze (after)": BLOCKING_MAZE_AFTER,
    "shortcut-maze (before)": SHORTCUT_MAZE_BEFORE,
    "shortcut-maze (after)": SHORTCUT_MAZE_AFTER,
}

MAX_SIDE = 50
MAX_LANES = 2
MAX_STEPS_PER_MESSAGE = 10_000
MAX_EDIT_CELLS = 2_500
MAX_EPISODE_STEPS = 10_000
MAX_FLASHES = 4_000
TRAIL = 40
QUEUE_TOP = 8
TOOLS = ("wall", "free", "start", "goal")
ACTIONS = ("up", "down", "left", "right")


class ProtocolError(ValueError):
    """A message from the page that is refused; the text is one line shown in the page."""


def agent_defaults(cls: type[TabularAgent]) -> dict[str, Any]:
    """An agent's parameters and their defaults, from the class itself (``cls.defaults()`` where the
    agent API has it, else ``cls.check_params({})``, which is what it returns)."""
    listed = getattr(cls, "defaults", None)
    params = listed() if callable(listed) else cls.check_params({})
    return {k: v for k, v in params.items() if isinstance(v, bool | int | float | str)}


def explorable() -> dict[str, type[TabularAgent]]:
    """The registered agents the explorer draws: those over state indices (a Q table per state)."""
    return {name: cls for name, cls in AGENTS.items() if issubclass(cls, TabularAgent)}


def agent_catalog() -> dict[str, dict[str, Any]]:
    """Every explorable agent: ``{name: {"params": {param: default}, "doc": first docstring line}}``."""
    out = {}
    for name, cls in explorable().items():
        try:
            params = agent_defaults(cls)
        except (TypeError, ValueError):  # an agent that cannot be built without arguments
            continue
        doc = (cls.__doc__ or "").strip().splitlines()
        out[name] = {"params": params, "doc": doc[0] if doc else ""}
    return out


def _finite(x: float) -> float:
    return round(float(x), 6) if math.isfinite(x) else 0.0


@dataclass
class LaneConfig:
    agent: str
    params: dict[str, Any]


class Lane:
    """One agent on the session's maze: its state, position, trail and counters."""

    def __init__(self, config: LaneConfig, layout: MazeLayout, world: TabularModel, seed: int) -> None:
        cls = explorable()[config.agent]
        self.config = config
        env = GridMaze(layout)
        self.agent: TabularAgent = cls(env, seed=seed, **config.params)
        self.n_actions = self.agent.n_actions
        self.traced = TRACED.get(type(self.agent.state))
        self.trace = np.zeros(max(int(self.agent.params.get("planning_steps", 0)), 1), dtype=np.int64)
        self.sync_world(world)
        self.start = int(np.argmax(world.start))
        self.s = self.start
        self.ep_len = 0
        self.real_steps = 0
        self.planning_updates = 0
        self.episodes: list[int] = []
        self.trail: deque[int] = deque([self.s], maxlen=TRAIL)
        self.flashes: list[int] = []
        self.flash_total = 0
        self.direct: list[int] = []
        self.root: dict[str, Any] | None = None

    def sync_world(self, world: TabularModel) -> None:
        """Agents that search the world's exact model see the world as it is now."""
        model = getattr(self.agent.state, "model", None)
        if isinstance(model, TabularModel) and model.next_state.shape == world.next_state.shape:
            for name in ("next_state", "prob", "reward", "terminated", "start"):
                getattr(model, name)[...] = getattr(world, name)

    def step(self, world: TabularModel) -> None:
        agent, s = self.agent, self.s
        st: Any = agent.state
        tree = getattr(st, "tree", None)
        if isinstance(tree, MCTSTree):
            # the book's tree: the root is node 0 and each simulation of this search visits it once,
            # so the root's visits beyond this search's simulations came with the reused subtree
            a = agent.act(s)
            now: Any = agent.state
            tree = now.tree
            after = float(tree.visits[0])
            before = after - float(tree.info[2])
            self.root = {
                "state": s,
                "visits": [_finite(v) for v in st.root_n],
                "reused": _finite(before / after) if after > 0 else 0.0,
                "nodes": int(tree.info[0]),
            }
            tree = None
        else:
            persist = bool(getattr(st, "persist", False)) and tree is not None and tree.visits.shape[0] > 1
            root = s if not persist or st.key == KEY_STATE else int(st.depth) * agent.n_states + s
            before = float(tree.visits[root]) if persist and tree is not None else 0.0
            a = agent.act(s)
        if tree is not None and hasattr(agent, "last_search") and int(st.method) == METHOD_MCTS:
            visits = st.root_n
            after = float(tree.visits[root]) if persist else float(visits.sum())
            self.root = {
                "state": s,
                "visits": [_finite(v) for v in visits],
                "reused": _finite(before / after) if after > 0 else 0.0,
                "nodes": int((tree.visits > 0).sum()),
            }
        s2 = int(world.next_state[s, a, 0])
        r = float(world.reward[s, a, 0])
        terminated = bool(world.terminated[s, a, 0])
        self.ep_len += 1
        truncated = not terminated and self.ep_len >= MAX_EPISODE_STEPS
        pair = s * self.n_actions + a
        if self.traced is not None:
            n = int(self.traced(st, s, a, r, s2, terminated, agent.rng, self.trace))
            self.flashes.extend(self.trace[: min(n, self.trace.shape[0])].tolist())
            self.flash_total += n
            self.planning_updates += n
        else:
            q0 = agent.q.copy()
            updates0 = getattr(agent, "updates", None)
            agent.observe(s, a, r, s2, terminated, truncated)
            changed = np.flatnonzero(agent.q != q0)
            changed = changed[changed != pair]
            self.flashes.extend(changed.tolist())
            self.flash_total += int(changed.size)
            if updates0 is not None:
                self.planning_updates += int(agent.updates) - int(updates0)  # type: ignore[attr-defined]
            else:
                self.planning_updates += int(agent.params.get("planning_steps", 0))
        self.direct.append(pair)
        self.real_steps += 1
        self.s = s2
        self.trail.append(s2)
        if terminated or truncated:
            self.episodes.append(self.ep_len)
            self.ep_len = 0
            self.s = self.start
            self.trail.append(-1)  # the trail breaks where an episode ends
            self.trail.append(self.s)

    def frame(self) -> dict[str, Any]:
        """What the page draws for this lane; then the flashes start over."""
        agent = self.agent
        q = agent.q
        v = q.max(axis=1)
        arrows = np.where(q.max(axis=1) > q.min(axis=1), q.argmax(axis=1), -1)
        st: Any = agent.state
        model = getattr(st, "model", None)
        tried = tau = queue = None
        mask = _tried_pairs(model, agent.n_states, self.n_actions)
        if mask is not None:
            tried = (mask * (1 << np.arange(self.n_actions))).sum(axis=1).astype(int).tolist()
            tau_of = getattr(agent, "tau", None)
            if callable(tau_of):
                tau = tau_of().ravel().tolist()
        pq = getattr(st, "queue", None)
        if pq is not None:
            n = int(pq.size[0])
            order = np.argsort(-pq.prio[:n], kind="stable")[:QUEUE_TOP]
            queue = [[int(pq.heap[i]), _finite(pq.prio[i])] for i in order]
        flashes = self.flashes[-MAX_FLASHES:]
        out = {
            "agent": self.config.agent,
            "params": agent.params,
            "pos": self.s,
            "trail": list(self.trail),
            "v": [_finite(x) for x in v],
            "arrows": arrows.astype(int).tolist(),
            "flashes": flashes,
            "flash_total": self.flash_total,
            "direct": self.direct[-MAX_FLASHES:],
            "tried": tried,
            "tau": tau,
            "queue": queue,
            "queue_length": int(pq.size[0]) if pq is not None else None,
            "root": self.root,
            "counters": {
                "real_steps": self.real_steps,
                "planning_updates": self.planning_updates,
                "episodes": len(self.episodes),
            },
            "episodes": self.episodes[-500:],
            "episode_offset": max(len(self.episodes) - 500, 0),
        }
        self.flashes = []
        self.flash_total = 0
        self.direct = []
        return out


def _tried_pairs(model: Any, n_states: int, n_actions: int) -> np.ndarray | None:
    """bool[S, A], the pairs a learned model knows (None for an exact model or no model)."""
    if model is None or isinstance(model, TabularModel):
        return None
    if isinstance(model, SampleModel):
        return np.asarray(model.next_state >= 0)
    if isinstance(model, DistributionModel):
        return np.asarray(model.total > 0)
    kernels = kernels_of(model)  # a model type registered from elsewhere: ask its own kernel
    if kernels is None:
        return None
    return np.array([[bool(kernels.known(model, s, a)) for a in range(n_actions)] for s in range(n_states)])


def _json_value(where: str, value: Any) -> bool | int | float | str:
    if isinstance(value, bool | str):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real) and math.isfinite(float(value)):
        return float(value)
    raise ProtocolError(f"{where}: expected a number, text or true/false, got {value!r}")


def _int(where: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ProtocolError(f"{where}: expected an integer in [{low}, {high}], got {value!r}")
    return value


def _keys(msg: dict[str, Any], required: set[str], optional: set[str] | None = None) -> None:
    kind = msg["type"]
    extra = set(msg) - required - (optional or set()) - {"type", "id"}
    if extra:
        raise ProtocolError(f"{kind}: unknown key(s) {', '.join(sorted(map(str, extra)))}")
    missing = required - set(msg)
    if missing:
        raise ProtocolError(f"{kind}: missing key(s) {', '.join(sorted(missing))}")


class Session:
    """A maze and its agents, driven by messages (see the module docstring)."""

    def __init__(self, layout: str | MazeLayout = DYNA_MAZE, agent: str = "dyna-q",
                 params: dict[str, Any] | None = None, seed: int = 0) -> None:
        self.layout = layout if isinstance(layout, MazeLayout) else self._parse(str(layout), "layout")
        self.world = changing_maze_model(self.layout)
        self.seed = seed
        self.configs = [self._check_lane({"agent": agent, "params": params or {}}, "agent")]
        self.lanes: list[Lane] = []
        self._build()

    # -- building ------------------------------------------------------------------------
    @staticmethod
    def _parse(text: str, source: str) -> MazeLayout:
        try:
            layout = parse_layout(text, source=source)
        except LayoutError as exc:
            raise ProtocolError(str(exc)) from None
        if max(layout.shape) > MAX_SIDE:
            n_rows, n_cols = layout.shape
            raise ProtocolError(f"{source}: at most {MAX_SIDE} x {MAX_SIDE} cells, got {n_rows} x {n_cols}")
        return layout

    @staticmethod
    def _check_lane(spec: Any, where: str) -> LaneConfig:
        if not isinstance(spec, dict) or set(spec) - {"agent", "params"} or "agent" not in spec:
            raise ProtocolError(f"{where}: expected {{\"agent\": name, \"params\": {{...}}}}, got {spec!r}")
        name = spec["agent"]
        if not isinstance(name, str) or name not in explorable():
            raise ProtocolError(f"{where}: unknown agent {name!r} (choose from {', '.join(explorable())})")
        raw = spec.get("params", {})
        if not isinstance(raw, dict):
            raise ProtocolError(f"{where}.params: expected an object, got {raw!r}")
        params = {}
        for k, v in raw.items():
            if not isinstance(k, str):
                raise ProtocolError(f"{where}.params: parameter names are text, got {k!r}")
            params[k] = _json_value(f"{where}.params.{k}", v)
        try:
            AGENTS[name].check_params(params)
        except ValueError as exc:
            raise ProtocolError(f"{where}: {name}: {exc}") from None
        return LaneConfig(name, params)

    def _build(self) -> None:
        lanes = []
        for i, config in enumerate(self.configs):
            try:
                lanes.append(Lane(config, self.layout, self.world, self.seed))
            except ValueError as exc:
                raise ProtocolError(f"lanes[{i}]: {config.agent}: {exc}") from None
        self.lanes = lanes

    # -- actions -------------------------------------------------------------------------
    def step(self, steps: int) -> None:
        """``steps`` real steps of every agent on the current world."""
        for lane in self.lanes:
            for _ in range(steps):
                lane.step(self.world)

    def edit(self, tool: str, cells: list[tuple[int, int]]) -> None:
        """Change cells of the maze under the running agents (ProtocolError if the result is unusable)."""
        rows = [list(r) for r in self.layout.rows]
        n_rows, n_cols = self.layout.shape
        for r, c in cells:
            if not (0 <= r < n_rows and 0 <= c < n_cols):
                raise ProtocolError(f"edit: cell ({r}, {c}) is outside the {n_rows} x {n_cols} maze")
            here = rows[r][c]
            if tool == "wall" and here not in "SG":
                rows[r][c] = "#"
            elif tool == "free" and here != "S":
                rows[r][c] = "."
            elif tool == "goal" and here != "S":
                rows[r][c] = "G"
            elif tool == "start":
                for row in rows:
                    for j, ch in enumerate(row):
                        if ch == "S":
                            row[j] = "."
                rows[r][c] = "S"
        layout = self._parse("\n".join("".join(r) for r in rows), "edit")
        self.layout = layout
        self.world = changing_maze_model(layout)
        start = int(np.argmax(self.world.start))
        for lane in self.lanes:
            lane.sync_world(self.world)
            lane.start = start

    def frame(self) -> dict[str, Any]:
        n_rows, n_cols = self.layout.shape
        return {
            "type": "frame",
            "rows": n_rows,
            "cols": n_cols,
            "layout": list(self.layout.rows),
            "seed": self.seed,
            "lanes": [lane.frame() for lane in self.lanes],
        }

    # -- the protocol --------------------------------------------------------------------
    def handle(self, msg: Any) -> dict[str, Any]:
        """The reply to one decoded message; a malformed one gets an error reply and changes nothing."""
        ident = msg.get("id") if isinstance(msg, dict) else None
        if isinstance(ident, bool) or not isinstance(ident, int | type(None)):
            ident = None
        try:
            reply = self._dispatch(msg)
        except ProtocolError as exc:
            reply = {"type": "error", "message": str(exc)}
        if ident is not None:
            reply["id"] = ident
        return reply

    def _dispatch(self, msg: Any) -> dict[str, Any]:
        if not isinstance(msg, dict):
            raise ProtocolError(f"a message must be a JSON object, got {type(msg).__name__}")
        kind = msg.get("type")
        if "id" in msg and (isinstance(msg["id"], bool) or not isinstance(msg["id"], int)):
            raise ProtocolError(f"id must be an integer, got {msg['id']!r}")
        if kind == "hello":
            _keys(msg, set())
            return {"type": "init", "agents": agent_catalog(), "layouts": LAYOUTS, "tools": list(TOOLS),
                    "actions": list(ACTIONS), "frame": self.frame(),
                    "config": {"lanes": [{"agent": c.agent, "params": c.params} for c in self.configs],
                               "seed": self.seed}}
        if kind == "step":
            _keys(msg, {"steps"})
            self.step(_int("step.steps", msg["steps"], 1, MAX_STEPS_PER_MESSAGE))
            return self.frame()
        if kind == "frame":
            _keys(msg, set())
            return self.frame()
        if kind == "reset":
            _keys(msg, set())
            self._build()
            return self.frame()
        if kind == "configure":
            _keys(msg, {"lanes"}, {"seed"})
            lanes = msg["lanes"]
            if not isinstance(lanes, list) or not 1 <= len(lanes) <= MAX_LANES:
                raise ProtocolError(f"configure.lanes: expected a list of 1 to {MAX_LANES} agents, got {lanes!r}")
            configs = [self._check_lane(spec, f"configure.lanes[{i}]") for i, spec in enumerate(lanes)]
            seed = _int("configure.seed", msg.get("seed", self.seed), 0, 2**63 - 1)
            old = self.configs, self.seed
            self.configs, self.seed = configs, seed
            try:
                self._build()
            except ProtocolError:
                self.configs, self.seed = old
                raise
            return self.frame()
        if kind == "layout":
            _keys(msg, set(), {"name", "text"})
            if ("name" in msg) == ("text" in msg):
                raise ProtocolError("layout: give exactly one of name or text")
            if "name" in msg:
                if msg["name"] not in LAYOUTS:
                    raise ProtocolError(f"layout: unknown layout {msg['name']!r} (choose from {', '.join(LAYOUTS)})")
                text = LAYOUTS[msg["name"]]
            else:
                text = msg["text"]
                if not isinstance(text, str) or len(text) > (MAX_SIDE + 1) * MAX_SIDE * 2:
                    raise ProtocolError("layout.text: expected the layout as text of at most 50 x 50 cells")
            layout = self._parse(text, "layout")
            old_layout, old_world = self.layout, self.world
            self.layout, self.world = layout, changing_maze_model(layout)
            try:
                self._build()
            except ProtocolError:
                self.layout, self.world = old_layout, old_world
                raise
            return self.frame()
        if kind == "edit":
            _keys(msg, {"tool", "cells"})
            tool = msg["tool"]
            if tool not in TOOLS:
                raise ProtocolError(f"edit.tool: expected one of {', '.join(TOOLS)}, got {tool!r}")
            cells = msg["cells"]
            if not isinstance(cells, list) or not 1 <= len(cells) <= MAX_EDIT_CELLS:
                raise ProtocolError(f"edit.cells: expected a list of 1 to {MAX_EDIT_CELLS} [row, col] pairs")
            checked = []
            for i, cell in enumerate(cells):
                if (not isinstance(cell, list) or len(cell) != 2
                        or any(isinstance(x, bool) or not isinstance(x, int) for x in cell)):
                    raise ProtocolError(f"edit.cells[{i}]: expected [row, col] integers, got {cell!r}")
                checked.append((cell[0], cell[1]))
            self.edit(tool, checked)
            return self.frame()
        raise ProtocolError(
            f"unknown message type {kind!r} (expected hello, configure, layout, edit, step, reset or frame)"
        )
