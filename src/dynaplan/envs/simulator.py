"""Simulators: any env a decision-time planner can put back where it was (snapshot / restore).

Rollouts and MCTS (sections 8.10, 8.11) only need to try an action from a state and come back.
Gymnasium has no general clone and restore, so each family of env gets an adapter that knows its
own way; ``simulator_of(env)`` picks it:

=====================  ==========================================  ================================
adapter                snapshot / restore                          for
=====================  ==========================================  ================================
``TableSimulator``     the state index; outcomes drawn from the    a ``TabularModel`` (a ``P``
                       model with the planner's random stream      table), as the compiled planners
``ToyTextSimulator``   the env's ``s``                             Taxi, FrozenLake, CliffWalking
``MinigridSimulator``  agent, carried object, doors and keys       Minigrid rooms
                       (``envs.minigrid_world.snapshot``)
``MujocoSimulator``    ``qpos``, ``qvel`` (``set_state``)          Gymnasium's MuJoCo envs
``AleSimulator``       ``ale.cloneState()`` / ``restoreState``     Atari (ALE) envs
``DeepcopySimulator``  ``copy.deepcopy`` of the unwrapped env      anything else (the stated
                                                                   fallback; slow: see
                                                                   ``benchmarks/simulators.py``)
=====================  ==========================================  ================================

A simulator stands for the env from the state it was made at: after stepping the env yourself,
make a new one (``simulator_of(env, obs)``; a toy-text one reads the env's ``s`` and follows it).
A simulator steps the *unwrapped* env (wrappers' counters, such as ``TimeLimit``'s, are not part
of a snapshot; a planner has its own horizon) and names each state by a hashable ``key`` (the
observation for discrete envs, its bytes for arrays), which state-keyed search tables index.
Restoring never touches the env's random generator: a stochastic env draws fresh outcomes in
every simulation, as a planner needs.
"""

from __future__ import annotations

import copy
from collections.abc import Hashable, Sequence
from typing import Any, Protocol, runtime_checkable

import gymnasium as gym
import numpy as np

from dynaplan.envs.tabular import TabularModel

__all__ = [
    "AleSimulator",
    "DeepcopySimulator",
    "MinigridSimulator",
    "MujocoSimulator",
    "Simulator",
    "TableSimulator",
    "ToyTextSimulator",
    "obs_key",
    "simulator_of",
]


@runtime_checkable
class Simulator(Protocol):
    """What a decision-time planner needs from a world it can rewind.

    ``n_actions``: actions are ``0 .. n_actions - 1``; ``key()`` names the current state
    (hashable); ``snapshot()`` / ``restore(snap)`` save and put back the current state;
    ``step(a) -> (key, reward, terminated)`` takes one action from the current state.
    """

    n_actions: int

    def key(self) -> Hashable: ...

    def snapshot(self) -> Any: ...

    def restore(self, snap: Any) -> None: ...

    def step(self, action: int) -> tuple[Hashable, float, bool]: ...


def obs_key(obs: Any) -> Hashable:
    """A hashable name for an observation: ints as they are, arrays by dtype, shape and bytes."""
    if isinstance(obs, int | np.integer):
        return int(obs)
    if isinstance(obs, np.ndarray):
        return (obs.dtype.str, obs.shape, obs.tobytes())
    if isinstance(obs, dict):
        return tuple((k, obs_key(v)) for k, v in sorted(obs.items()))
    if isinstance(obs, tuple | list):
        return tuple(obs_key(v) for v in obs)
    return obs  # type: ignore[no-any-return]


def _action_set(env: gym.Env[Any, Any], actions: Sequence[Any] | None) -> list[Any]:
    """The env actions a planner's indices 0 .. n-1 stand for: ``actions`` if given, else a
    Discrete space's own ``start .. start + n - 1`` (other spaces need ``actions``)."""
    if actions is not None:
        if len(actions) < 1:
            raise ValueError("actions must list at least one action")
        return list(actions)
    space = env.action_space
    if not isinstance(space, gym.spaces.Discrete):
        raise ValueError(f"the action space is {space}: give the planner's actions (actions=[...], e.g. a few vectors)")
    return [int(space.start) + i for i in range(int(space.n))]


class TableSimulator:
    """A ``TabularModel`` stepped from Python: outcomes drawn exactly as the compiled planners draw
    them (``models.protocol.tabular_sample``: one uniform from ``rng`` per step)."""

    def __init__(self, model: TabularModel, state: int, rng: np.ndarray) -> None:
        self.model, self.s, self.rng = model, int(state), rng
        self.n_actions = model.n_actions
        self._cum = np.cumsum(model.prob, axis=2)

    def key(self) -> Hashable:
        return self.s

    def snapshot(self) -> int:
        return self.s

    def restore(self, snap: int) -> None:
        self.s = snap

    def step(self, action: int) -> tuple[Hashable, float, bool]:
        from dynaplan.rng import rand

        u = rand(self.rng)
        s, a = self.s, int(action)
        above = np.flatnonzero(self._cum[s, a] > u)
        k = int(above[0]) if above.size else 0
        self.s = int(self.model.next_state[s, a, k])
        return self.s, float(self.model.reward[s, a, k]), bool(self.model.terminated[s, a, k])


class _EnvSimulator:
    """Shared by the adapters that step a real env: its ``unwrapped`` layer, the actions the indices
    stand for (``actions``: see ``_action_set``) and the last observation's key."""

    def __init__(self, env: gym.Env[Any, Any], obs: Any = None, actions: Sequence[Any] | None = None) -> None:
        self.env = env.unwrapped
        self.actions = _action_set(env, actions)
        self.n_actions = len(self.actions)
        self._key: Hashable = obs_key(obs)

    def key(self) -> Hashable:
        return self._key

    def step(self, action: int) -> tuple[Hashable, float, bool]:
        obs, reward, terminated, _, _ = self.env.step(self.actions[action])
        self._key = obs_key(obs)
        return self._key, float(reward), bool(terminated)


class ToyTextSimulator(_EnvSimulator):
    """Gymnasium's toy-text envs (and dynaplan's), whose whole state is the integer ``s``."""

    def __init__(self, env: gym.Env[Any, Any], actions: Sequence[Any] | None = None) -> None:
        super().__init__(env, int(env.unwrapped.s), actions)  # type: ignore[attr-defined]

    def key(self) -> Hashable:
        return int(self.env.s)  # type: ignore[attr-defined]

    def snapshot(self) -> int:
        return int(self.env.s)  # type: ignore[attr-defined]

    def restore(self, snap: int) -> None:
        self.env.s = snap  # type: ignore[attr-defined]


class MinigridSimulator(_EnvSimulator):
    """A Minigrid env (fixed layout): snapshots of its agent, carried object, doors and keys; the
    key is the snapshot itself (``envs.minigrid_world.MinigridSnapshot``)."""

    def __init__(self, env: gym.Env[Any, Any], actions: Sequence[Any] | None = None) -> None:
        from dynaplan.envs.minigrid_world import snapshot

        super().__init__(env, None, actions)
        self._key = snapshot(self.env)

    def snapshot(self) -> Any:
        return self._key

    def restore(self, snap: Any) -> None:
        from dynaplan.envs.minigrid_world import restore

        restore(self.env, snap)
        self._key = snap

    def step(self, action: int) -> tuple[Hashable, float, bool]:
        from dynaplan.envs.minigrid_world import snapshot

        self.env.step_count = 0  # type: ignore[attr-defined]  # Minigrid's own time limit is not part of a snapshot
        _, reward, terminated, _, _ = self.env.step(self.actions[action])
        self._key = snapshot(self.env)
        return self._key, float(reward), bool(terminated)


class MujocoSimulator(_EnvSimulator):
    """Gymnasium's MuJoCo envs: the state is ``(qpos, qvel)``, put back with the env's ``set_state``."""

    def __init__(self, env: gym.Env[Any, Any], obs: Any = None, actions: Sequence[Any] | None = None) -> None:
        super().__init__(env, obs if obs is not None else self._obs(env.unwrapped), actions)

    @staticmethod
    def _obs(inner: Any) -> Any:
        return inner._get_obs()

    def snapshot(self) -> tuple[np.ndarray, np.ndarray, Hashable]:
        data = self.env.data  # type: ignore[attr-defined]
        return data.qpos.copy(), data.qvel.copy(), self._key

    def restore(self, snap: tuple[np.ndarray, np.ndarray, Hashable]) -> None:
        self.env.set_state(snap[0], snap[1])  # type: ignore[attr-defined]
        self._key = snap[2]


class AleSimulator(_EnvSimulator):
    """Atari envs of the Arcade Learning Environment: ``ale.cloneState()`` / ``ale.restoreState``."""

    def snapshot(self) -> tuple[Any, Hashable]:
        return self.env.ale.cloneState(), self._key  # type: ignore[attr-defined]

    def restore(self, snap: tuple[Any, Hashable]) -> None:
        self.env.ale.restoreState(snap[0])  # type: ignore[attr-defined]
        self._key = snap[1]


class DeepcopySimulator(_EnvSimulator):
    """Any env, by ``copy.deepcopy`` of its unwrapped layer: a snapshot is a copy and a restore
    copies it again (the copy must not be stepped). Correct for any env whose state is in Python
    objects, but it copies everything (Taxi's ``P`` table too): measured in ``benchmarks/simulators.py``.
    A copied env keeps its random generator's state: restoring rewinds it too."""

    def snapshot(self) -> tuple[Any, Hashable]:
        return copy.deepcopy(self.env), self._key

    def restore(self, snap: tuple[Any, Hashable]) -> None:
        self.env = copy.deepcopy(snap[0])
        self._key = snap[1]


def _is_minigrid(inner: Any) -> bool:
    try:
        from minigrid.minigrid_env import MiniGridEnv
    except ImportError:  # Minigrid not installed: no Minigrid env to adapt
        return False
    return isinstance(inner, MiniGridEnv)


def simulator_of(
    env: gym.Env[Any, Any], obs: Any = None, *, actions: Sequence[Any] | None = None, fallback: bool = True
) -> Simulator:
    """The adapter for ``env`` (see the module's table), at the env's current state.

    ``obs``: the observation of that state (for the key; toy-text and Minigrid envs read it from
    the env). ``actions``: the env actions the planner chooses among (needed for a continuous
    action space, e.g. MuJoCo's). Without an adapter, ``DeepcopySimulator`` unless
    ``fallback=False`` (ValueError).
    """
    inner = env.unwrapped
    if hasattr(inner, "ale") and hasattr(inner.ale, "cloneState"):
        return AleSimulator(env, obs, actions)
    if hasattr(inner, "set_state") and hasattr(inner, "data") and hasattr(inner.data, "qpos"):
        return MujocoSimulator(env, obs, actions)
    if _is_minigrid(inner):
        return MinigridSimulator(env, actions)
    if isinstance(getattr(inner, "s", None), int | np.integer) and hasattr(inner, "P"):
        return ToyTextSimulator(env, actions)
    if not fallback:
        raise ValueError(f"no snapshot/restore adapter for {type(inner).__name__} (fallback=True deep-copies it)")
    return DeepcopySimulator(env, obs, actions)
