"""Minigrid rooms as tabular worlds: a Discrete-observation env and its exact ``TabularModel``.

Minigrid (Chevalier-Boisvert et al. 2023, "Minigrid & Miniworld") observes dictionaries (an
egocentric image, a direction, a mission) and has no way to count its states. A room with a
fixed layout is a finite deterministic MDP, though, and this module makes it one:

* the **state** is what changes while the layout stays: the agent's cell and direction, what it
  carries, and every object that can change (doors open / closed / locked, keys, balls and boxes
  where they lie). Walls, floor, goals and lava never change and are left out;
* ``enumerate_world`` finds every state reachable from the start by breadth-first search through
  the env's *own* ``step`` (each state is restored from its snapshot before each action), so the
  model is exactly the env's dynamics, in ``P`` order (one outcome per pair);
* ``MinigridWorld`` is the Gymnasium env dynaplan's agents take: it steps the real Minigrid env
  and observes the index of its state in the same numbering (a state seen is a state counted).

**Layouts.** Minigrid draws a room's layout (walls, doors, goal, start) from the reset seed.
The world is the layout of ``reset(seed=layout_seed)`` (default 0), the same in every episode.
``layout_seed=None`` asks for the env's own layout whatever the seed: that is refused by name
when two resets with different seeds give different rooms (FourRooms, DoorKey, ...).

**Rewards.** Minigrid pays ``1 - 0.9 t / T`` on success, where ``t`` is the step count, which is
not part of the state; the tabular world pays 1 on success and 0 otherwise, and a discount
``gamma < 1`` plays the role of the step penalty (a shorter path is worth more). An episode is
cut after the env's ``max_steps`` steps, as Minigrid cuts it (``TimeLimit`` in ``make_minigrid``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable
from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from dynaplan.envs.tabular import PTable, TabularModel, to_P

__all__ = [
    "MAX_STATES",
    "MINIGRID_PREFIXES",
    "MinigridSnapshot",
    "MinigridWorld",
    "enumerate_world",
    "is_minigrid_id",
    "make_minigrid",
    "minigrid_step_limit",
    "register_minigrid",
    "restore",
    "snapshot",
]

MAX_STATES = 500_000
"""Enumeration stops (and is refused) beyond this many states: about 1 GB of arrays at A = 7."""

_STATIC = frozenset({"wall", "floor", "goal", "lava"})


class MinigridSnapshot(NamedTuple):
    """The part of a Minigrid env's state that can change under a fixed layout (hashable).

    Attributes:
      pos: (x, y) of the agent
      direction: 0 east, 1 south, 2 west, 3 north (Minigrid's ``agent_dir``)
      carrying: ``(type, color, state)`` indices of the carried object, or None
      objects: ``((cell, type, color, state), ...)`` for every non-static object, by cell
        ``y * width + x`` (doors: state 0 open, 1 closed, 2 locked, as ``WorldObj.encode``)
    """

    pos: tuple[int, int]
    direction: int
    carrying: tuple[int, int, int] | None
    objects: tuple[tuple[int, int, int, int], ...]


def _base(env: gym.Env[Any, Any]) -> Any:
    from minigrid.minigrid_env import MiniGridEnv

    inner = env.unwrapped
    if not isinstance(inner, MiniGridEnv):
        raise ValueError(f"{type(inner).__name__} is not a Minigrid env")
    return inner


def snapshot(env: Any) -> MinigridSnapshot:
    """The changing state of a (unwrapped) Minigrid env."""
    objects = []
    for cell, obj in enumerate(env.grid.grid):
        if obj is not None and obj.type not in _STATIC:
            if obj.type == "box" and obj.contains is not None:
                raise ValueError("boxes with something inside are not supported (their contents are not encoded)")
            objects.append((cell, *obj.encode()))
    carried = env.carrying.encode() if env.carrying is not None else None
    x, y = env.agent_pos
    return MinigridSnapshot((int(x), int(y)), int(env.agent_dir), carried, tuple(objects))


def restore(env: Any, snap: MinigridSnapshot, current: MinigridSnapshot | None = None) -> None:
    """Put a (unwrapped) Minigrid env of the same layout into ``snap``.

    ``current`` (the env's snapshot now, when the caller knows it) saves a scan of the grid:
    only the objects that differ are replaced.
    """
    from minigrid.core.world_object import WorldObj

    if current is None:
        current = snapshot(env)
    width = env.grid.width
    if current.objects != snap.objects:
        for cell, *_ in current.objects:
            env.grid.grid[cell] = None
        for item in snap.objects:
            cell, t, c, s = item
            obj: Any = WorldObj.decode(t, c, s)
            obj.init_pos = obj.cur_pos = (cell % width, cell // width)
            env.grid.grid[cell] = obj
    env.carrying = None if snap.carrying is None else WorldObj.decode(*snap.carrying)
    if env.carrying is not None:
        env.carrying.cur_pos = np.array([-1, -1])
    env.agent_pos = snap.pos
    env.agent_dir = snap.direction


def _layout_of(env: Any, seed: int) -> tuple[bytes, MinigridSnapshot]:
    env.reset(seed=seed)
    return env.grid.encode().tobytes(), snapshot(env)


def _reset_layout(env: Any, layout_seed: int | None, name: str) -> int:
    """Reset ``env`` to its layout; returns the seed that draws it (refuses a random layout)."""
    if layout_seed is not None:
        if isinstance(layout_seed, bool) or not isinstance(layout_seed, int | np.integer) or layout_seed < 0:
            raise ValueError(f"layout_seed must be an integer >= 0 or None, got {layout_seed!r}")
        env.reset(seed=int(layout_seed))
        return int(layout_seed)
    if _layout_of(env, 0) != _layout_of(env, 1):
        raise ValueError(
            f"{name} draws its layout at random on every reset (reset seeds 0 and 1 give different rooms): "
            "fix one with layout_seed=N"
        )
    return 0


def _success(reward: float) -> float:
    return 1.0 if reward > 0 else 0.0


def enumerate_world(
    env: gym.Env[Any, Any], layout_seed: int | None = 0, max_states: int = MAX_STATES
) -> tuple[TabularModel, list[MinigridSnapshot]]:
    """The exact model of a Minigrid room by breadth-first search through its own ``step``.

    The env is reset to ``reset(seed=layout_seed)``; state 0 is the start. Every state reached is
    expanded by restoring its snapshot and taking each action once (Minigrid's dynamics are
    deterministic: K = 1). A terminal transition (goal, lava) leads to the state it reaches, whose
    own rows are absorbing (reward 0, terminated). Returns ``(model, states)``, ``states[i]`` the
    snapshot of state ``i``. The env is left reset to the start.
    """
    inner = _base(env)
    name = env.spec.id if env.spec is not None else type(inner).__name__
    seed = _reset_layout(inner, layout_seed, name)
    n_actions = int(inner.action_space.n)
    saved_obs = inner.__dict__.get("gen_obs")
    inner.gen_obs = lambda: None  # the observation is not needed while enumerating (~95% of a step)
    try:
        start = snapshot(inner)
        index: dict[Hashable, int] = {start: 0}
        states = [start]
        rows: list[list[tuple[int, float, bool]]] = []
        terminal: set[int] = set()
        queue = deque([0])
        current = start
        while queue:
            i = queue.popleft()
            if i in terminal:
                rows.append([(i, 0.0, True)] * n_actions)
                continue
            row = []
            for a in range(n_actions):
                restore(inner, states[i], current)
                inner.step_count = 0
                _, reward, terminated, _, _ = inner.step(a)
                current = snapshot(inner)
                j = index.get(current)
                if j is None:
                    j = len(states)
                    if j >= max_states:
                        raise ValueError(f"{name} has more than {max_states} reachable states: too many to tabulate")
                    index[current] = j
                    states.append(current)
                    queue.append(j)
                if terminated:
                    terminal.add(j)
                row.append((j, _success(float(reward)), bool(terminated)))
            rows.append(row)
        _check_deterministic(inner, states, rows)
    finally:
        if saved_obs is None:
            del inner.gen_obs
        else:
            inner.gen_obs = saved_obs
        inner.reset(seed=seed)
    n = len(states)
    next_state = np.array([[o[0] for o in row] for row in rows], dtype=np.int64).reshape(n, n_actions, 1)
    reward = np.array([[o[1] for o in row] for row in rows], dtype=np.float64).reshape(n, n_actions, 1)
    terminated = np.array([[o[2] for o in row] for row in rows], dtype=np.bool_).reshape(n, n_actions, 1)
    start_dist = np.zeros(n)
    start_dist[0] = 1.0
    return TabularModel(next_state, np.ones((n, n_actions, 1)), reward, terminated, start_dist), states


def _check_deterministic(inner: Any, states: list[MinigridSnapshot], rows: list[list[tuple[int, float, bool]]]) -> None:
    """Replay up to 64 pairs with the env's random generator reseeded: refuse stochastic dynamics."""
    gen = np.random.default_rng(12345)
    inner.np_random = np.random.default_rng(54321)
    index = {snap: i for i, snap in enumerate(states)}
    for _ in range(min(64, len(states))):
        i = int(gen.integers(len(states)))
        a = int(gen.integers(len(rows[i])))
        if rows[i][a][2] and rows[i][a][0] == i:
            continue  # an absorbing terminal row is not stepped
        restore(inner, states[i])
        inner.step_count = 0
        _, reward, terminated, _, _ = inner.step(a)
        if (index.get(snapshot(inner)), _success(float(reward)), bool(terminated)) != rows[i][a]:
            raise ValueError(f"{type(inner).__name__} has random dynamics: it is not a deterministic tabular world")


class MinigridWorld(gym.Env):  # type: ignore[type-arg]
    """A Minigrid env with a fixed layout as a Discrete-observation env with an exact model.

    ``env`` is a Minigrid env (or its Gymnasium id); ``layout_seed`` fixes its layout (see the
    module). Observations are state indices (``Discrete(S)``); actions are Minigrid's
    (``Discrete(7)``: left, right, forward, pickup, drop, toggle, done). ``step`` steps the real
    Minigrid env and reports the index of the state it reached; ``model`` (a ``TabularModel``),
    ``P`` and ``initial_state_distrib`` give the same dynamics as tables, in the same numbering.
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 4}  # noqa: RUF012  (Gymnasium convention)

    def __init__(self, env: gym.Env[Any, Any] | str, layout_seed: int | None = 0,
                 max_states: int = MAX_STATES, render_mode: str | None = None, **env_kwargs: Any) -> None:
        if isinstance(env, str):
            register_minigrid(env)
            env = gym.make(env, render_mode=render_mode, **env_kwargs)
        self.minigrid = _base(env)
        self.model, self.states = enumerate_world(self.minigrid, layout_seed, max_states)
        self.layout_seed = 0 if layout_seed is None else int(layout_seed)
        self.index = {snap: i for i, snap in enumerate(self.states)}
        self.render_mode = render_mode
        self.observation_space = spaces.Discrete(self.model.n_states)
        self.action_space = spaces.Discrete(self.model.n_actions)
        self.max_steps = int(self.minigrid.max_steps)
        self._P: PTable | None = None
        self.minigrid.gen_obs = lambda: None  # this env never returns Minigrid's observation
        self.s = 0

    @property
    def P(self) -> PTable:
        """Gymnasium's ``P[s][a]`` of the model (built on first use)."""
        if self._P is None:
            self._P = to_P(self.model)
        return self._P

    @property
    def initial_state_distrib(self) -> np.ndarray:
        return self.model.start

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
        super().reset(seed=seed)
        self.minigrid.reset(seed=self.layout_seed)
        self.s = self.index[snapshot(self.minigrid)]
        return self.s, {}

    def step(self, action: int) -> tuple[int, float, bool, bool, dict[str, Any]]:
        _, reward, terminated, truncated, _ = self.minigrid.step(int(action))
        self.s = self.index[snapshot(self.minigrid)]
        return self.s, _success(float(reward)), bool(terminated), bool(truncated), {}

    def render(self) -> Any:
        return self.minigrid.get_frame(highlight=False) if self.render_mode == "rgb_array" else None


MINIGRID_PREFIXES = ("MiniGrid-", "BabyAI-")
"""Ids that Minigrid registers when it is imported."""


def register_minigrid(env_id: str) -> None:
    """Import Minigrid (which registers its ids) when ``env_id`` is one of its ids and not yet known.

    Raises ValueError with the install line when Minigrid is missing.
    """
    if env_id in gym.registry or not env_id.startswith(MINIGRID_PREFIXES):
        return
    try:
        import minigrid  # noqa: F401  (registers MiniGrid-* and BabyAI-* ids)
    except ImportError:
        raise ValueError(f"{env_id} needs Minigrid: pip install -e \".[minigrid]\"") from None


def is_minigrid_id(env_id: str) -> bool:
    """Whether ``env_id`` is a Gymnasium id of a Minigrid env (from its entry point; imports Minigrid for its ids)."""
    register_minigrid(env_id)
    if env_id not in gym.registry:
        return False
    entry = gym.spec(env_id).entry_point
    return isinstance(entry, str) and entry.startswith("minigrid.")


def make_minigrid(env_id: str, **kwargs: Any) -> gym.Env[Any, Any]:
    """``MinigridWorld`` of a Minigrid id, inside ``TimeLimit(max_steps)`` as Minigrid cuts episodes.

    ``kwargs``: ``layout_seed`` and ``max_states`` for ``MinigridWorld``, the rest for the env.
    """
    from gymnasium.wrappers import TimeLimit

    own = {k: kwargs.pop(k) for k in ("layout_seed", "max_states") if k in kwargs}
    world = MinigridWorld(env_id, **own, **kwargs)
    return TimeLimit(world, max_episode_steps=world.max_steps)


def minigrid_step_limit(env_id: str, **kwargs: Any) -> int:
    """The episode limit of a Minigrid env (its ``max_steps``), without enumerating it."""
    env_kwargs = {k: v for k, v in kwargs.items() if k not in ("layout_seed", "max_states")}
    return int(gym.make(env_id, **env_kwargs).unwrapped.max_steps)  # type: ignore[attr-defined]
