"""Contract checks for users, as Gymnasium's ``utils/env_checker.py``: ``check_agent`` and ``check_env``.

``check_agent(cls)`` holds an agent class (any family) to the contract the shipped agents meet
(``tests/test_equivalence.py`` and ``tests/test_object_api_checks.py`` run it on every
registered agent):

1. ``defaults()`` is a fixed point of ``check_params`` (the one source of the defaults);
2. the object API (``act`` / ``observe`` on ``gym.make(env_id)``) and the family's compiled
   runner (``run_compiled`` on ``problem_of(env_id)``) give identical episodes and an identical
   final state (every array of the kernel state) for the same seed, from several seeds;
3. determinism: the same seed twice gives the same run, both ways;
4. bad input is refused by name, before any kernel sees it (the kernels index unchecked):
   an out-of-range state and action (a Box action: outside the box, NaN, of the wrong
   shape), a non-finite reward, a non-bool ``terminated``, each a
   ``ValueError`` whose message names the argument, and the agent's state is unchanged.

``check_env(env_id)`` holds an env with an exact model (a ``P`` table or a ``TabularModel``) to
what the compiled runner assumes: ``step()`` gives an outcome its ``P`` lists with positive
probability, and the compiled ``world_step`` on the same seed gives exactly ``step()``'s
transitions (the same random draws), from several seeds; and ``reset(seed)`` is deterministic.

Each raises ``ContractError`` (an ``AssertionError``) whose message names the check and the reason.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from typing import Any

import gymnasium as gym
import numpy as np

from dynaplan.core.agent import Agent

__all__ = ["ContractError", "check_agent", "check_env"]


class ContractError(AssertionError):
    """A broken contract: ``str(err)`` names the agent or env, the check and the reason."""


def _arrays(record: Any, prefix: str = "state") -> dict[str, np.ndarray]:
    """Every array of a kernel state (NamedTuples and tuples nested; JAX arrays too), by field path."""
    if isinstance(record, np.ndarray):
        return {prefix: record}
    jax = sys.modules.get("jax")
    if jax is not None and isinstance(record, jax.Array):  # a JAX agent's state (loaded only if it is one)
        return {prefix: np.asarray(record)}
    if isinstance(record, tuple):
        fields = getattr(record, "_fields", None)
        out: dict[str, np.ndarray] = {}
        for i, item in enumerate(record):
            out.update(_arrays(item, f"{prefix}.{fields[i] if fields else i}"))
        return out
    return {}


def _same(a: Any, b: Any) -> str:
    """'' if the two kernel states have the same arrays, else the first field that differs."""
    ours, theirs = _arrays(a), _arrays(b)
    if ours.keys() != theirs.keys():
        return f"fields {sorted(ours)} vs {sorted(theirs)}"
    for key in ours:
        x, y = ours[key], theirs[key]
        if x.shape != y.shape or not np.array_equal(x, y, equal_nan=x.dtype.kind == "f"):
            return key
    return ""


MAX_EPISODE_STEPS = 200_000
"""An episode of the object API longer than this fails the contract (a checker must not hang on an
agent that never reaches the end, e.g. a greedy one stuck against a wall)."""


def object_api_run(env: gym.Env[Any, Any], cls: type[Agent], params: Mapping[str, Any], seed: int,
                   episodes: int) -> tuple[Agent, np.ndarray, np.ndarray]:
    """The object API as a user drives it: (agent, steps per episode, return per episode)."""
    agent = cls(env, seed=seed, **params)
    steps, returns = [], []
    obs, _ = env.reset(seed=seed)
    for _ in range(episodes):
        n, total = 0, 0.0
        while True:
            action = agent.act(obs)
            next_obs, reward, terminated, truncated, _ = env.step(action)
            agent.observe(obs, action, reward, next_obs, terminated, truncated)
            n, total, obs = n + 1, total + float(reward), next_obs
            if terminated or truncated:
                break
            if n >= MAX_EPISODE_STEPS:
                raise ContractError(f"{cls.name}: an episode of the object API did not end within {n:,} steps "
                                    f"on seed {seed} (an agent that never reaches the end?)")
        steps.append(n)
        returns.append(total)
        obs, _ = env.reset()
    return agent, np.array(steps, dtype=np.int64), np.array(returns)


def _check_equivalence(cls: type[Agent], env_id: str, params: Mapping[str, Any], seeds: Iterable[int],
                       episodes: int) -> None:
    checked = cls.check_params(params)
    problem = cls.problem_of(env_id)
    for seed in seeds:
        agent, steps, returns = object_api_run(gym.make(env_id), cls, params, seed, episodes)
        run = cls.run_compiled(checked, problem, seed, episodes=episodes)
        where = f"{cls.name}: object API vs compiled runner ({cls.family}) on {env_id}, seed {seed}"
        if not np.array_equal(run.episode_steps, steps):
            raise ContractError(f"{where}: episode steps differ: {steps.tolist()} vs {run.episode_steps.tolist()}")
        if not np.array_equal(run.episode_returns, returns):
            raise ContractError(
                f"{where}: episode returns differ: {returns.tolist()} vs {run.episode_returns.tolist()}")
        field = _same(agent.state, run.agent)
        if not field and run.features is not None:  # a features record that learns (a tile coder's table)
            field = _same(getattr(agent, "feature_record", None), run.features)
        if field:
            raise ContractError(f"{where}: final kernel state differs in {field}")
        again = cls.run_compiled(checked, problem, seed, episodes=episodes)
        if not np.array_equal(again.episode_steps, run.episode_steps) or _same(again.agent, run.agent):
            raise ContractError(f"{cls.name}: not deterministic: two compiled runs from seed {seed} differ")
        agent2, steps2, _ = object_api_run(gym.make(env_id), cls, params, seed, episodes)
        if not np.array_equal(steps2, steps) or _same(agent2.state, agent.state):
            raise ContractError(f"{cls.name}: not deterministic: two object-API runs from seed {seed} differ")


def _refuses(agent: Agent, what: str, call: Any, name: str) -> None:
    """``call()`` must raise a ValueError naming ``name`` and leave the agent's state unchanged."""
    before = {k: v.copy() for k, v in _arrays(agent.state).items()}
    try:
        call()
    except ValueError as exc:
        if name not in str(exc):
            raise ContractError(f"{agent.name}: {what} was refused, but the message does not name {name!r}: {exc}") \
                from None
    else:
        raise ContractError(f"{agent.name}: {what} was accepted (it must be a ValueError naming {name!r}; the "
                            "kernels index unchecked)")
    after = _arrays(agent.state)
    for key, value in before.items():
        if not np.array_equal(value, after[key], equal_nan=value.dtype.kind == "f"):
            raise ContractError(f"{agent.name}: {what} was refused, but only after changing {key}")


def _check_bad_input(cls: type[Agent], env_id: str, params: Mapping[str, Any]) -> None:
    env = gym.make(env_id)
    agent = cls(env, seed=0, **params)
    obs, _ = env.reset(seed=0)
    actions = env.action_space
    if isinstance(actions, gym.spaces.Box):  # continuous actions: outside the box, not finite, wrong shape
        good: Any = ((actions.low + actions.high) / 2).astype(actions.dtype)
        bad_actions: list[Any] = [actions.high + 1, np.full(actions.shape, np.nan), np.zeros(actions.shape[0] + 1)]
        what = f"a box of shape {actions.shape}"
    else:
        n_actions = int(actions.n)  # type: ignore[attr-defined]
        good, bad_actions, what = 0, [n_actions, -1, 10**9], f"{n_actions} actions"
    space = env.observation_space
    if isinstance(space, gym.spaces.Discrete):
        bad_obs: list[Any] = [int(space.n), -1]
    else:
        bad_obs = [np.zeros(int(np.prod(space.shape or ())) + 1), np.full(space.shape or (), np.nan)]
    for bad in bad_obs:
        _refuses(agent, f"act(obs={bad!r})", lambda bad=bad: agent.act(bad), "obs")
        _refuses(agent, f"observe(next_obs={bad!r})", lambda bad=bad: agent.observe(obs, good, 0.0, bad, False),
                 "next_obs")
    # One past the end first: if it is wrongly accepted, the kernel touches memory of its own arrays only.
    for bad in bad_actions:
        _refuses(agent, f"observe(action={bad!r}) on {what}",
                 lambda bad=bad: agent.observe(obs, bad, 0.0, obs, False), "action")
    for bad in (float("nan"), float("inf"), "1"):
        _refuses(agent, f"observe(reward={bad!r})", lambda bad=bad: agent.observe(obs, good, bad, obs, False),
                 "reward")
    _refuses(agent, "observe(terminated='no')", lambda: agent.observe(obs, good, 0.0, obs, "no"), "terminated")
    _refuses(agent, "observe(truncated=2)", lambda: agent.observe(obs, good, 0.0, obs, False, 2), "truncated")


def check_agent(cls: type[Agent], *, env_id: str | None = None, params: Mapping[str, Any] | None = None,
                seeds: Iterable[int] = (0, 17), episodes: int | None = None) -> None:
    """Check ``cls`` against the agent contract (module doc) on ``env_id`` with ``params``
    (default: the class's ``example_env`` and ``example_params``) for ``episodes`` episodes per
    run (default: the class's ``example_episodes`` if it declares one, else 4: an agent whose
    example env has long episodes, Pendulum's 200 steps, declares fewer); ``ContractError``
    naming the check and the reason when it fails."""
    if episodes is None:
        episodes = int(getattr(cls, "example_episodes", 4))
    if not (isinstance(cls, type) and issubclass(cls, Agent)):
        raise ContractError(f"{cls!r} is not a subclass of dynaplan.core.agent.Agent")
    if getattr(cls, "__abstractmethods__", None):
        raise ContractError(f"{cls.__name__} does not implement {', '.join(sorted(cls.__abstractmethods__))}")
    env_id = cls.example_env if env_id is None else env_id
    params = dict(cls.example_params if params is None else params)
    defaults = cls.defaults()
    if cls.check_params(defaults) != defaults:
        raise ContractError(f"{cls.name}: check_params(defaults()) is not defaults(): the defaults have two sources")
    _check_bad_input(cls, env_id, params)
    _check_equivalence(cls, env_id, params, tuple(seeds), episodes)


def check_env(env: str | gym.Env[Any, Any], *, seeds: Iterable[int] = (0, 1, 2), steps: int = 300) -> None:
    """Check an env with an exact model against what the compiled runner assumes (module doc);
    ``ContractError`` naming the reason when it fails. ``env``: a registered id or an instance."""
    from dynaplan.envs.tabular import model_of, world_of, world_reset, world_step
    from dynaplan.rng import env_stream

    make = (lambda: gym.make(env)) if isinstance(env, str) else (lambda: env)
    first = make()
    name = env if isinstance(env, str) else type(first.unwrapped).__name__
    try:
        model = model_of(first)
    except ValueError as exc:
        raise ContractError(f"{name}: no exact model to check against ({exc})") from None
    world = world_of(first)
    for seed in seeds:
        trace = []
        for _ in range(2):  # twice: determinism
            e = make()
            state = env_stream(seed)
            actions = np.random.default_rng(seed).integers(0, model.n_actions, steps)
            obs, _ = e.reset(seed=seed)
            t = 0
            if world_reset(world, t, state) != obs:
                raise ContractError(f"{name}: reset(seed={seed}) gave state {obs}, the compiled reset another")
            run = [obs]
            for a in actions:
                s, a = int(obs), int(a)
                obs2, r, term, trunc, _ = e.step(a)
                ks = np.flatnonzero((model.next_state[s, a] == obs2) & (model.prob[s, a] > 0))
                if not any(model.reward[s, a, k] == r and bool(model.terminated[s, a, k]) == bool(term) for k in ks):
                    raise ContractError(f"{name}: step() from state {s} with action {a} gave ({obs2}, {r}, {term}), "
                                        f"an outcome its P table does not list (seed {seed})")
                s2, r2, term2 = world_step(world, t, s, a, state)
                if (s2, r2, bool(term2)) != (obs2, r, bool(term)):
                    raise ContractError(
                        f"{name}: step() from state {s} with action {a} gave ({obs2}, {r}, {term}), the compiled step "
                        f"({s2}, {r2}, {bool(term2)}) with the same random stream (seed {seed}): step() must draw as "
                        "Gymnasium's categorical_sample over P's outcomes in order, one uniform draw per step")
                t += 1
                run.append((obs2, r, term, trunc))
                obs = obs2
                if term or trunc:
                    obs, _ = e.reset()
                    if world_reset(world, t, state) != obs:
                        raise ContractError(f"{name}: reset() after an episode differs from the compiled reset")
                    run.append(obs)
            trace.append(run)
        if trace[0] != trace[1]:
            raise ContractError(f"{name}: not deterministic: two rollouts from seed {seed} differ")
