"""Exact models of finite worlds as dense arrays, and the kernels that step them.

One record serves every planner and every check: the arrays an environment is stepped from
inside compiled code are the ones value iteration reads, and they convert to and from
Gymnasium's ``P[s][a] = [(prob, next_state, reward, terminated), ...]`` convention.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np

from dynaplan._jit import kernel
from dynaplan.core.worlds import register_table_world, register_world
from dynaplan.rng import categorical, rand

PTable = dict[int, dict[int, list[tuple[float, int, float, bool]]]]


class TabularModel(NamedTuple):
    """Exact model of a finite MDP with S states, A actions and at most K outcomes per pair.

    Outcome ``k`` of pair ``(s, a)`` happens with probability ``prob[s, a, k]``; unused slots
    have probability 0. Outcomes keep the order of the env's ``P`` table, so sampling with
    one uniform draw reproduces Gymnasium's ``categorical_sample`` exactly.

    Attributes:
      next_state: int64[S, A, K]
      prob: float64[S, A, K], each ``prob[s, a]`` sums to 1
      reward: float64[S, A, K]
      terminated: bool[S, A, K], the episode ends on this outcome
      start: float64[S], the initial state distribution
    """

    next_state: np.ndarray
    prob: np.ndarray
    reward: np.ndarray
    terminated: np.ndarray
    start: np.ndarray

    @property
    def n_states(self) -> int:
        return int(self.next_state.shape[0])

    @property
    def n_actions(self) -> int:
        return int(self.next_state.shape[1])

    def expected_reward(self) -> np.ndarray:
        """r(s, a) = sum_k p_k r_k: float64[S, A]."""
        return np.asarray((self.prob * self.reward).sum(axis=2))


def from_P(P: Mapping[int, Mapping[int, Sequence[Any]]], start: np.ndarray) -> TabularModel:
    """Dense arrays from a Gymnasium-style ``P`` table and an initial distribution."""
    n_states = len(P)
    n_actions = len(P[0])
    k_max = max(len(P[s][a]) for s in range(n_states) for a in range(n_actions))
    next_state = np.zeros((n_states, n_actions, k_max), dtype=np.int64)
    prob = np.zeros((n_states, n_actions, k_max))
    reward = np.zeros((n_states, n_actions, k_max))
    terminated = np.zeros((n_states, n_actions, k_max), dtype=np.bool_)
    for s in range(n_states):
        for a in range(n_actions):
            for k, (p, s2, r, done) in enumerate(P[s][a]):
                prob[s, a, k] = p
                next_state[s, a, k] = s2
                reward[s, a, k] = r
                terminated[s, a, k] = done
            # Padding slots point back to s: harmless if ever read with probability 0.
            next_state[s, a, len(P[s][a]) :] = s
    return TabularModel(next_state, prob, reward, terminated, np.asarray(start, dtype=np.float64))


def to_P(model: TabularModel) -> PTable:
    """Gymnasium's ``P`` table of a model (outcomes with probability 0 are left out)."""
    P: PTable = {}
    for s in range(model.n_states):
        P[s] = {}
        for a in range(model.n_actions):
            P[s][a] = [
                (
                    float(model.prob[s, a, k]),
                    int(model.next_state[s, a, k]),
                    float(model.reward[s, a, k]),
                    bool(model.terminated[s, a, k]),
                )
                for k in range(model.prob.shape[2])
                if model.prob[s, a, k] > 0
            ]
    return P


def model_of(env: gym.Env) -> TabularModel:
    """The exact model of an env: its ``model`` attribute (dynaplan envs) or its ``P`` table.

    Works for dynaplan's envs and for Gymnasium's toy-text envs (FrozenLake, CliffWalking,
    Taxi), which keep ``P`` and ``initial_state_distrib``.
    """
    inner = env.unwrapped
    model = getattr(inner, "model", None)
    if isinstance(model, TabularModel):
        return model
    P = getattr(inner, "P", None)
    start = getattr(inner, "initial_state_distrib", None)
    if P is None or start is None:
        name = env.spec.id if env.spec is not None else type(inner).__name__
        raise ValueError(
            f"env {name} exposes no exact model (needs a `P` table and `initial_state_distrib`)"
        )
    return from_P(P, np.asarray(start))


class World(NamedTuple):
    """What compiled runners step: L exact models over one state space, switched in time.

    Phase ``l`` is in force from total real step ``switch_at[l]`` (counted across episodes)
    until the next switch. When a phase begins, an agent standing in state ``s`` is moved to
    ``relocate[l, s]`` (the identity, except where the new layout puts a wall on it).

    Attributes:
      next_state, prob, reward, terminated: [L, S, A, K] as in ``TabularModel``
      start: float64[L, S]
      switch_at: int64[L], ``switch_at[0] == 0``, increasing
      relocate: int64[L, S]
    """

    next_state: np.ndarray
    prob: np.ndarray
    reward: np.ndarray
    terminated: np.ndarray
    start: np.ndarray
    switch_at: np.ndarray
    relocate: np.ndarray


def make_world(
    models: Sequence[TabularModel],
    switch_at: Sequence[int] = (0,),
    relocate: np.ndarray | None = None,
) -> World:
    """Stack models (same S and A) into a ``World``; pads outcome slots to a common K."""
    if len(models) != len(switch_at) or switch_at[0] != 0:
        raise ValueError("switch_at needs one entry per model and must start at 0")
    if any(b <= a for a, b in itertools.pairwise(switch_at)):
        raise ValueError("switch_at must be strictly increasing")
    k_max = max(m.prob.shape[2] for m in models)

    def pad(arr: np.ndarray, mode: str = "edge") -> np.ndarray:
        # Extra outcome slots get probability 0 and repeat the last outcome's other fields.
        widths = ((0, 0), (0, 0), (0, k_max - arr.shape[2]))
        return np.pad(arr, widths, mode=mode)  # type: ignore[call-overload]

    n_states = models[0].n_states
    if relocate is None:
        relocate = np.tile(np.arange(n_states, dtype=np.int64), (len(models), 1))
    return World(
        next_state=np.stack([pad(m.next_state) for m in models]),
        prob=np.stack([pad(m.prob, "constant") for m in models]),
        reward=np.stack([pad(m.reward) for m in models]),
        terminated=np.stack([pad(m.terminated) for m in models]),
        start=np.stack([m.start for m in models]),
        switch_at=np.asarray(switch_at, dtype=np.int64),
        relocate=np.asarray(relocate, dtype=np.int64),
    )


@kernel(inline=True)
def phase_at(world: World, t: int) -> int:
    """Index of the model in force at total step ``t``."""
    phase = 0
    for l in range(1, world.switch_at.shape[0]):
        if t >= world.switch_at[l]:
            phase = l
    return phase


@kernel(inline=True)
def world_reset(world: World, t: int, rng: np.ndarray) -> int:
    """Draw a start state as Gymnasium's toy-text ``reset`` does (one uniform draw)."""
    return categorical(world.start[phase_at(world, t)], rng)


@kernel(inline=True)
def world_step(world: World, t: int, s: int, a: int, rng: np.ndarray) -> tuple[int, float, bool]:
    """One real step at total step ``t``: ``(next_state, reward, terminated)``.

    One uniform draw per step, compared with the cumulative outcome probabilities as
    Gymnasium's ``categorical_sample`` does, so the same state array gives the same outcome.
    """
    l = phase_at(world, t)
    u = rand(rng)
    total = 0.0
    k = 0
    for j in range(world.prob.shape[3]):
        total += world.prob[l, s, a, j]
        if total > u:
            k = j
            break
    return world.next_state[l, s, a, k], world.reward[l, s, a, k], world.terminated[l, s, a, k]


@kernel(inline=True)
def relocate(world: World, phase: int, s: int) -> int:
    """Where an agent in ``s`` stands when ``phase`` begins (``World.relocate``)."""
    return world.relocate[phase, s]


@kernel
def _vector_reset(world: World, t: int, state: np.ndarray, obs: np.ndarray, rng: np.ndarray) -> None:
    s = world_reset(world, t, rng)
    state[0] = s
    obs[0] = s


@kernel
def _vector_step(
    world: World, t: int, state: np.ndarray, a: int, obs: np.ndarray, rng: np.ndarray
) -> tuple[float, bool]:
    # As core.loop.run_loop: when a new phase begins after this step, relocate the agent.
    s2, r, terminated = world_step(world, t, int(state[0]), a, rng)
    new_phase = phase_at(world, t + 1)
    if new_phase != phase_at(world, t):
        s2 = world.relocate[new_phase, s2]
    state[0] = s2
    obs[0] = s2
    return r, terminated


register_table_world(World, reset=world_reset, step=world_step, phase=phase_at, relocate=relocate)
register_world(World, reset=_vector_reset, step=_vector_step, sizes=lambda w: (1, 1))

def world_of(env: gym.Env) -> World:
    """The ``World`` an env is stepped from in compiled runners.

    An env with a ``world`` attribute (a maze whose layout changes) gives it; any other env
    with an exact model gives a one-phase world.
    """
    world = getattr(env.unwrapped, "world", None)
    if isinstance(world, World):
        return world
    return make_world([model_of(env)])
