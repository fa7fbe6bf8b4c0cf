"""The explorer's Python side: a maze, one or two agents on it, and the message protocol.

The front end (``static/explorer.js``, in a notebook widget or the standalone page) never
computes anything: it sends small JSON messages and draws the frames it gets back. One
:class:`Session` serves both transports; :meth:`Session.handle` takes a decoded message and
returns the reply, and refuses anything malformed with ``{"type": "error", "message": ...}``
(one line naming the problem, with any value it quotes cut short) without acting on it; a
``configure``, ``layout`` or ``reset`` builds every agent before it replaces any (all or nothing).

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
* ``step``: ``steps`` real steps for every agent, then a frame; a message takes only as many as
  fit in ``MAX_MESSAGE_WORK`` updates (``step_work``; the frame's ``stepped`` says how many), and
  a configuration whose single real step exceeds ``MAX_STEP_WORK`` is refused, so no message
  holds the session for long or grows its memory (the flashes kept are at most ``MAX_FLASHES``);
* ``reset``: fresh agents with the same configuration; ``frame``: the current frame.

What the page draws of an agent comes from its view (``agent.view()``, ``agents.views``): values,
greedy arrows, tried pairs, the queue, the last search's root and the counts; the session reads
no kernel state.

Which pairs planning updated (the flashes): for Dyna-Q, Q-planning, Dyna-Q+ and prioritized
sweeping with a sample model, exactly, from a probe attached to their planner
(``planning.probe``, at most ``planning_steps`` pairs per real step; every backup, in order,
even one that leaves Q unchanged). For every other agent (Q-learning, prioritized sweeping with a
distribution model, the search agents' background planning), from the Q table before and after
each real step: the pairs whose value changed, other than the real pair; a backup that changes
nothing is not seen, a pair updated twice in one step is seen once, and the order within a step
is lost. The count of planning updates is exact for every agent (``planning_steps`` per real
step, or the agent's own count in its view).
"""

from __future__ import annotations

import math
import numbers
import reprlib
from collections import deque
from dataclasses import dataclass
from typing import Any

import numpy as np

from dynaplan.agents import AGENTS, TabularAgent
from dynaplan.agents.views import Probed
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
from dynaplan.planning.probe import probe_take

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
MAX_STEP_WORK = 2_000_000
MAX_MESSAGE_WORK = 5_000_000
MAX_EDIT_CELLS = 2_500
MAX_EPISODE_STEPS = 10_000
MAX_FLASHES = 4_000
MAX_TEXT = 200
MAX_ID = 2**53 - 1  # the page's integers are JavaScript numbers
TRAIL = 40
TOOLS = ("wall", "free", "start", "goal")
ACTIONS = ("up", "down", "left", "right")


#: The words the page shows for the agents' parameters (the book's names and symbols).
PARAM_LABELS = {
    "alpha": "step size \u03b1", "epsilon": "exploration \u03b5", "gamma": "discount \u03b3",
    "q_init": "initial Q", "planning_steps": "planning steps n", "kappa": "bonus \u03ba",
    "bonus": "bonus in", "plan_untried": "plan untried actions", "theta": "priority threshold \u03b8",
    "model": "model", "max_outcomes": "outcomes kept per pair", "simulations": "simulations per step",
    "depth": "search depth", "c": "exploration c (UCB)", "persist": "keep the tree between steps",
    "evaluation": "leaf evaluation", "key": "tree keyed by", "backup": "backup", "learn": "learn Q from real steps",
    "write_back": "write search values to Q", "model_steps": "model steps", "policy": "rollout policy",
    "alpha_transient": "search step size", "search_epsilon": "search exploration \u03b5",
    "reset": "forget search values each", "alpha_actor": "actor step size", "alpha_critic": "critic step size",
    "h_init": "initial preference", "v_init": "initial V", "planning_actions": "planning actions",
    "rollouts": "imagined rollouts", "horizon": "rollout length", "update": "update", "min_count": "min visits",
    "solve_every": "solve every n steps", "tol": "tolerance", "max_sweeps": "max sweeps",
}


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
    """Every explorable agent: ``{name: {"params": {param: default}, "doc": its docstring's first
    paragraph, "labels": {param: the words the page shows}}}``."""
    out = {}
    for name, cls in explorable().items():
        try:
            params = agent_defaults(cls)
        except (TypeError, ValueError):  # an agent that cannot be built without arguments
            continue
        first = (cls.__doc__ or "").strip().split("\n\n", 1)[0]
        out[name] = {"params": params, "doc": " ".join(first.replace("``", "").split()),
                     "labels": {k: PARAM_LABELS.get(k, k.replace("_", " ")) for k in params}}
    return out


def _finite(x: float) -> float:
    return round(float(x), 6) if math.isfinite(x) else 0.0


@dataclass(frozen=True)
class LaneSummary:
    """One lane after ``Explorer.step``: its agent, counters and the length of its last episode."""

    agent: str
    params: dict[str, Any]
    real_steps: int
    planning_updates: int
    episodes: int
    last_episode: int | None

    def __str__(self) -> str:
        shown = " ".join(f"{k}={v}" for k, v in self.params.items())
        last = f" (last {self.last_episode} steps)" if self.last_episode is not None else ""
        episodes = f"{self.episodes} episode{'' if self.episodes == 1 else 's'}"
        return (f"{self.agent}{' ' + shown if shown else ''}: {self.real_steps} real steps, "
                f"{self.planning_updates} planning updates, {episodes}{last}")


@dataclass(frozen=True)
class StepSummary:
    """What ``Explorer.step(n)`` did: ``steps`` real steps for every lane, and each lane's counters.

    Its ``repr`` is one line (a notebook shows it under the cell); the frame went to the page.
    """

    steps: int
    lanes: tuple[LaneSummary, ...]

    def __repr__(self) -> str:
        return f"<stepped {self.steps}: {' | '.join(map(str, self.lanes))}>"


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
        # the first MAX_FLASHES backups of a step are drawn (all are counted): bounded whatever the budget
        capacity = min(max(int(self.agent.params.get("planning_steps", 0)), 1), MAX_FLASHES)
        self.probe = self.agent.attach_probe(capacity) if isinstance(self.agent, Probed) else None
        view = self.agent.view()
        self.searches = view.search is not None and view.search.method in ("path-tree", "state-table")
        self.counts_updates = view.planning_updates is not None
        self.sync_world(world)
        self.start = int(np.argmax(world.start))
        self.s = self.start
        self.ep_len = 0
        self.real_steps = 0
        self.planning_updates = 0
        self.episodes: list[int] = []
        self.trail: deque[int] = deque([self.s], maxlen=TRAIL)
        self.flashes: deque[int] = deque(maxlen=MAX_FLASHES)
        self.flash_total = 0
        self.direct: deque[int] = deque(maxlen=MAX_FLASHES)
        self.root: dict[str, Any] | None = None
        self.work = step_work(config.agent, self.agent.params, self.agent.n_states, self.n_actions,
                              world.next_state.shape[2])
        if self.work > MAX_STEP_WORK:
            raise ValueError(f"one real step would make about {self.work:.3g} updates; the explorer draws at most "
                             f"{MAX_STEP_WORK:,} per step (lower planning_steps, simulations or depth)")

    def sync_world(self, world: TabularModel) -> None:
        """Agents that search the world's exact model see the world as it is now."""
        model = getattr(self.agent.state, "model", None)
        if isinstance(model, TabularModel) and model.next_state.shape == world.next_state.shape:
            for name in ("next_state", "prob", "reward", "terminated", "start"):
                getattr(model, name)[...] = getattr(world, name)

    def step(self, world: TabularModel) -> None:
        agent, s = self.agent, self.s
        a = agent.act(s)
        search = agent.view().search if self.searches else None
        if search is not None:
            self.root = {
                "state": search.root_state,
                "visits": [_finite(v) for v in search.root_visits],
                "reused": _finite(search.reused_share),
                "nodes": search.nodes,
            }
        s2 = int(world.next_state[s, a, 0])
        r = float(world.reward[s, a, 0])
        terminated = bool(world.terminated[s, a, 0])
        self.ep_len += 1
        truncated = not terminated and self.ep_len >= MAX_EPISODE_STEPS
        pair = s * self.n_actions + a
        if self.probe is not None:
            agent.observe(s, a, r, s2, terminated, truncated)
            pairs, n = probe_take(self.probe)
            self.flashes.extend(pairs)
            self.flash_total += n
            self.planning_updates += n
        else:
            q0 = agent.q.copy()
            updates0 = agent.view().planning_updates if self.counts_updates else None
            agent.observe(s, a, r, s2, terminated, truncated)
            changed = np.flatnonzero(agent.q != q0)
            changed = changed[changed != pair]
            self.flashes.extend(changed[-MAX_FLASHES:].tolist())
            self.flash_total += int(changed.size)
            updates = agent.view().planning_updates if self.counts_updates else None
            if updates0 is not None and updates is not None:
                self.planning_updates += updates - updates0
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
        view = agent.view()
        tried = tau = queue = None
        if view.tried is not None:
            tried = (view.tried * (1 << np.arange(self.n_actions))).sum(axis=1).astype(int).tolist()
            tau_of = getattr(agent, "tau", None)
            if callable(tau_of):
                tau = tau_of().ravel().tolist()
        if view.queue is not None:
            queue = [[pair, _finite(p)] for pair, p in view.queue.top]
        out = {
            "agent": self.config.agent,
            "params": agent.params,
            "pos": self.s,
            "trail": list(self.trail),
            "v": [_finite(x) for x in view.v],
            "arrows": view.policy.astype(int).tolist(),
            "flashes": list(self.flashes),
            "flash_total": self.flash_total,
            "direct": list(self.direct),
            "tried": tried,
            "tau": tau,
            "queue": queue,
            "queue_length": view.queue.size if view.queue is not None else None,
            "root": self.root,
            "counters": {
                "real_steps": self.real_steps,
                "planning_updates": self.planning_updates,
                "episodes": len(self.episodes),
            },
            "episodes": self.episodes[-500:],
            "episode_offset": max(len(self.episodes) - 500, 0),
        }
        self.flashes.clear()
        self.flash_total = 0
        self.direct.clear()
        return out


def step_work(agent: str, params: dict[str, Any], n_states: int, n_actions: int, n_outcomes: int) -> float:
    """An upper estimate of the updates (backups, simulated steps) one real step of this agent makes.

    The budget of each message is counted in these (``MAX_STEP_WORK`` for one real step,
    ``MAX_MESSAGE_WORK`` for a ``step`` message), so that no message, whatever the parameters,
    keeps the session busy or grows its memory without bound.
    """
    def count(key: str) -> float:
        value = params.get(key, 0)
        return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0

    work = 1.0 + count("planning_steps") + count("model_steps")
    work += count("simulations") * max(count("depth"), 1.0)
    work += count("rollouts") * max(count("horizon"), 1.0)
    if agent == "lookahead":  # a full tree of expected backups, depth levels deep
        branching = n_actions * max(min(count("max_outcomes"), n_outcomes), 1.0)
        work += branching ** min(count("depth"), 64.0)
    if agent == "ce-planning":  # value iteration to tol: at most max_sweeps sweeps, fewer when gamma < 1
        gamma, tol = count("gamma"), count("tol")
        sweeps = count("max_sweeps")
        if 0.0 < gamma < 1.0 and 0.0 < tol < 1.0:
            sweeps = min(sweeps, math.ceil(math.log(tol * (1.0 - gamma)) / math.log(gamma)) + 1.0)
        work += sweeps * n_states * n_actions * max(min(count("max_outcomes"), n_outcomes), 1.0)
    return work


def show(value: Any) -> str:
    """A short one-line ``repr`` of anything a message may hold (deep, long or huge values cut)."""
    try:
        text = _SHOW.repr(value)
    except (ValueError, RecursionError):  # an integer too long to print
        text = f"an integer of {int(value).bit_length()} bits" if isinstance(value, int) else type(value).__name__
    return " ".join(text.split())


_SHOW = reprlib.Repr()
_SHOW.maxlevel, _SHOW.maxstring, _SHOW.maxother, _SHOW.maxlong = 3, 60, 60, 40


def _json_value(where: str, value: Any) -> bool | int | float | str:
    if isinstance(value, str):
        if len(value) > MAX_TEXT:
            raise ProtocolError(f"{where}: text of at most {MAX_TEXT} characters, got {len(value)}")
        return value
    if isinstance(value, bool):
        return value
    if isinstance(value, numbers.Integral):
        if not -(2**63) <= int(value) < 2**63:
            raise ProtocolError(f"{where}: the number {show(value)} is too large")
        return int(value)
    if isinstance(value, numbers.Real) and math.isfinite(float(value)):
        return float(value)
    raise ProtocolError(f"{where}: expected a number, text or true/false, got {show(value)}")


def _int(where: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ProtocolError(f"{where}: expected an integer in [{low}, {high}], got {show(value)}")
    return value


def _keys(msg: dict[str, Any], required: set[str], optional: set[str] | None = None) -> None:
    kind = msg["type"]
    extra = set(msg) - required - (optional or set()) - {"type", "id"}
    if extra:
        names = sorted(map(str, extra))
        more = f" and {len(names) - 5} more" if len(names) > 5 else ""
        raise ProtocolError(f"{kind}: unknown key(s) {', '.join(n[:40] for n in names[:5])}{more}")
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
        self.frames_made = 0  # numbers the frames: replies to pipelined requests may arrive out of order
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
            raise ProtocolError(f"{where}: expected {{\"agent\": name, \"params\": {{...}}}}, got {show(spec)}")
        name = spec["agent"]
        if not isinstance(name, str) or name not in explorable():
            raise ProtocolError(f"{where}: unknown agent {show(name)} (choose from {', '.join(explorable())})")
        raw = spec.get("params", {})
        if not isinstance(raw, dict):
            raise ProtocolError(f"{where}.params: expected an object, got {show(raw)}")
        params = {}
        for k, v in raw.items():
            if not isinstance(k, str):
                raise ProtocolError(f"{where}.params: parameter names are text, got {show(k)}")
            params[k] = _json_value(f"{where}.params.{k}", v)
        try:
            AGENTS[name].check_params(params)
        except ValueError as exc:
            raise ProtocolError(f"{where}: {name}: {exc}") from None
        return LaneConfig(name, params)

    def _build(self, configs: list[LaneConfig] | None = None, seed: int | None = None,
               layout: MazeLayout | None = None) -> None:
        """Fresh agents (on a new configuration, seed or layout when given), all or nothing: when
        one cannot be built the session keeps its configuration, layout and agents unchanged."""
        configs = self.configs if configs is None else configs
        seed = self.seed if seed is None else seed
        layout = self.layout if layout is None else layout
        world = self.world if layout is self.layout else changing_maze_model(layout)
        lanes = []
        for i, config in enumerate(configs):
            try:
                lanes.append(Lane(config, layout, world, seed))
            except (ValueError, TypeError, OverflowError, MemoryError) as exc:
                raise ProtocolError(f"lanes[{i}]: {config.agent}: {' '.join(str(exc).split()) or type(exc).__name__}") \
                    from None
        self.configs, self.seed, self.layout, self.world, self.lanes = configs, seed, layout, world, lanes

    # -- actions -------------------------------------------------------------------------
    def step(self, steps: int) -> None:
        """``steps`` real steps of every agent on the current world."""
        for lane in self.lanes:
            for _ in range(steps):
                lane.step(self.world)

    def steps_within_budget(self, steps: int) -> int:
        """How many of ``steps`` real steps one message takes: as many as fit in ``MAX_MESSAGE_WORK``
        updates over all lanes, and at least one (each lane's step fits in ``MAX_STEP_WORK``)."""
        work = sum(lane.work for lane in self.lanes)
        return max(1, min(steps, int(MAX_MESSAGE_WORK // work)))

    def summary(self, steps: int) -> StepSummary:
        """What ``steps`` real steps just did, per lane (``Explorer.step``'s answer)."""
        return StepSummary(steps, tuple(
            LaneSummary(lane.config.agent, dict(lane.config.params), lane.real_steps, lane.planning_updates,
                        len(lane.episodes), lane.episodes[-1] if lane.episodes else None)
            for lane in self.lanes))

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
        self.frames_made += 1
        return {
            "type": "frame",
            "seq": self.frames_made,
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
        if isinstance(ident, bool) or not isinstance(ident, int) or not 0 <= ident <= MAX_ID:
            ident = None
        try:
            reply = self._dispatch(msg)
        except ProtocolError as exc:
            reply = {"type": "error", "message": str(exc)}
        except (ValueError, TypeError, OverflowError, MemoryError, RecursionError) as exc:
            # a defect, not the sender's fault: still one line, and the connection stays up
            reply = {"type": "error", "message": f"internal error ({type(exc).__name__}: {show(str(exc))[1:-1]})"}
        if ident is not None:
            reply["id"] = ident
        return reply

    def _dispatch(self, msg: Any) -> dict[str, Any]:
        if not isinstance(msg, dict):
            raise ProtocolError(f"a message must be a JSON object, got {type(msg).__name__}")
        kind = msg.get("type")
        if "id" in msg and (isinstance(msg["id"], bool) or not isinstance(msg["id"], int)
                            or not 0 <= msg["id"] <= MAX_ID):
            raise ProtocolError(f"id must be an integer in [0, {MAX_ID}], got {show(msg['id'])}")
        if kind == "hello":
            _keys(msg, set())
            return {"type": "init", "agents": agent_catalog(), "layouts": LAYOUTS, "tools": list(TOOLS),
                    "actions": list(ACTIONS), "frame": self.frame(),
                    "config": {"lanes": [{"agent": c.agent, "params": c.params} for c in self.configs],
                               "seed": self.seed}}
        if kind == "step":
            _keys(msg, {"steps"})
            steps = self.steps_within_budget(_int("step.steps", msg["steps"], 1, MAX_STEPS_PER_MESSAGE))
            self.step(steps)
            return {**self.frame(), "stepped": steps}
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
                raise ProtocolError(f"configure.lanes: expected a list of 1 to {MAX_LANES} agents, got {show(lanes)}")
            configs = [self._check_lane(spec, f"configure.lanes[{i}]") for i, spec in enumerate(lanes)]
            seed = _int("configure.seed", msg.get("seed", self.seed), 0, 2**63 - 1)
            self._build(configs, seed)
            return self.frame()
        if kind == "layout":
            _keys(msg, set(), {"name", "text"})
            if ("name" in msg) == ("text" in msg):
                raise ProtocolError("layout: give exactly one of name or text")
            if "name" in msg:
                if not isinstance(msg["name"], str) or msg["name"] not in LAYOUTS:
                    known = ", ".join(LAYOUTS)
                    raise ProtocolError(f"layout: unknown layout {show(msg['name'])} (choose from {known})")
                text = LAYOUTS[msg["name"]]
            else:
                text = msg["text"]
                if not isinstance(text, str) or len(text) > (MAX_SIDE + 1) * MAX_SIDE * 2:
                    raise ProtocolError("layout.text: expected the layout as text of at most 50 x 50 cells")
            self._build(layout=self._parse(text, "layout"))
            return self.frame()
        if kind == "edit":
            _keys(msg, {"tool", "cells"})
            tool = msg["tool"]
            if not isinstance(tool, str) or tool not in TOOLS:
                raise ProtocolError(f"edit.tool: expected one of {', '.join(TOOLS)}, got {show(tool)}")
            cells = msg["cells"]
            if not isinstance(cells, list) or not 1 <= len(cells) <= MAX_EDIT_CELLS:
                raise ProtocolError(f"edit.cells: expected a list of 1 to {MAX_EDIT_CELLS} [row, col] pairs")
            checked = []
            for i, cell in enumerate(cells):
                if (not isinstance(cell, list) or len(cell) != 2
                        or any(isinstance(x, bool) or not isinstance(x, int) for x in cell)):
                    raise ProtocolError(f"edit.cells[{i}]: expected [row, col] integers, got {show(cell)}")
                checked.append((cell[0], cell[1]))
            self.edit(tool, checked)
            return self.frame()
        raise ProtocolError(
            f"unknown message type {show(kind)} (expected hello, configure, layout, edit, step, reset or frame)"
        )
