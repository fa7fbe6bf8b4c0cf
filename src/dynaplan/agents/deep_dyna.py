"""SAC, MBPO, DQN and Dyna-DQN (``dynaplan.neural.sac`` / ``mbpo`` / ``dqn``) in the one agent
protocol: the deep Figure 8.2's agents, family ``"neural"``, encoding ``"vector"``.

This module imports no JAX: the parameters (their defaults, ranges and the spaces an agent
needs) are checked here, without it, for specs, ``dynaplan agents`` and the CLI; the networks
are imported when an agent is made or run (without the ``deep`` extra that import says in one
line how to install it). The JAX work lives in ``dynaplan.neural``, whose agents take the
parameters checked here.

``SAC(env, seed=s, **params)`` (and the three others) makes the same decisions as
``run_compiled`` for seed ``s`` (both drive one ``neural`` agent through the same jitted
functions). Many seeds at once in one vmapped program is ``dynaplan.neural.runner.run_seeds``
(the reproduction's runner), held to the object API by ``tests/test_deep_dyna.py``.
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from typing import Any, ClassVar, NamedTuple

import gymnasium as gym
import numpy as np

from dynaplan.agents.neural_base import NeuralAgent, run_on_env
from dynaplan.core.params import ParamError, check_int_in, check_known, check_real_in
from dynaplan.core.records import Problem, RunResult

__all__ = [
    "DQN",
    "DQN_DEFAULTS",
    "MBPO",
    "MBPO_DEFAULTS",
    "SAC",
    "SAC_DEFAULTS",
    "DeepDynaAgent",
    "DeepDynaState",
    "DeepDynaView",
    "DynaDQN",
    "check_spaces",
]


def _known(name: str, params: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    check_known(params, defaults, name)
    return {**defaults, **params}


SAC_DEFAULTS: dict[str, Any] = {
    "hidden": 64, "layers": 2, "lr_actor": 3e-4, "lr_critic": 1e-3, "lr_alpha": 1e-3, "gamma": 0.99,
    "tau": 0.005, "batch": 128, "init_alpha": 1.0, "buffer": 10_000, "learning_starts": 200,
    "updates_per_step": 1,
}
"""SAC's defaults (ours, for Pendulum-v1 on 2 cores; the paper's in ``neural.sac.SACAgent``'s docstring)."""

MBPO_DEFAULTS: dict[str, Any] = {
    **SAC_DEFAULTS, "updates_per_step": 20, "real_ratio": 0.05, "members": 5, "model_hidden": 64, "model_layers": 2,
    "model_train_every": 250, "rollouts_per_step": 100, "rollout_schedule": (1, 1, 1, 1), "model_retain": 250,
}
"""MBPO's defaults (ours; the paper's in ``neural.mbpo.MBPOAgent``'s docstring)."""

DQN_DEFAULTS: dict[str, Any] = {
    "hidden": 64, "layers": 2, "lr": 1e-3, "model_lr": 1e-3, "gamma": 0.99, "batch": 64, "buffer": 50_000,
    "learning_starts": 200, "epsilon_start": 1.0, "epsilon_end": 0.05, "explore_steps": 1000,
    "target_every": 200, "planning_steps": 0,
}
"""DQN's defaults (ours, for CartPole-v1 / Acrobot-v1 on 2 cores; Mnih et al. 2015's in
``neural.dqn.DQNAgent``'s docstring); Dyna-DQN's are the same with ``planning_steps`` = 5."""


def _check_sac(p: dict[str, Any]) -> dict[str, Any]:
    p["hidden"] = check_int_in("hidden", p["hidden"], 1, 4096)
    p["layers"] = check_int_in("layers", p["layers"], 1, 8)
    for k in ("lr_actor", "lr_critic", "lr_alpha"):
        p[k] = check_real_in(k, p[k], 0.0, 1.0)
    p["gamma"] = check_real_in("gamma", p["gamma"], 0.0, 1.0, low_open=False)
    p["tau"] = check_real_in("tau", p["tau"], 0.0, 1.0)
    p["init_alpha"] = check_real_in("init_alpha", p["init_alpha"], 0.0, 1e6)
    p["batch"] = check_int_in("batch", p["batch"], 1, 65_536)
    p["buffer"] = check_int_in("buffer", p["buffer"], 1, 10**7)
    p["learning_starts"] = check_int_in("learning_starts", p["learning_starts"], 1)
    p["updates_per_step"] = check_int_in("updates_per_step", p["updates_per_step"], 0, 10_000)
    return p


def _check_mbpo(p: dict[str, Any]) -> dict[str, Any]:
    p = _check_sac(p)
    p["real_ratio"] = check_real_in("real_ratio", p["real_ratio"], 0.0, 1.0, low_open=False)
    p["members"] = check_int_in("members", p["members"], 1, 64)
    p["model_hidden"] = check_int_in("model_hidden", p["model_hidden"], 1, 4096)
    p["model_layers"] = check_int_in("model_layers", p["model_layers"], 1, 8)
    p["model_train_every"] = check_int_in("model_train_every", p["model_train_every"], 1)
    p["rollouts_per_step"] = check_int_in("rollouts_per_step", p["rollouts_per_step"], 1, 100_000)
    p["model_retain"] = check_int_in("model_retain", p["model_retain"], 1, 100_000)
    s = p["rollout_schedule"]
    if not (isinstance(s, list | tuple) and len(s) == 4
            and all(isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in s)
            and 0 <= s[0] <= s[1] and 1 <= s[2] <= 1000 and 1 <= s[3] <= 1000):
        raise ParamError("rollout_schedule", "rollout_schedule must be [a, b, x, y]: integers, 0 <= a <= b "
                         f"(real steps), 1 <= x, y <= 1000 (rollout lengths), got {s!r}")
    p["rollout_schedule"] = tuple(int(v) for v in s)
    if p["learning_starts"] < 6:
        raise ParamError("learning_starts", "learning_starts must be >= 6 for mbpo (the ensemble holds out "
                         f"one transition in five), got {p['learning_starts']}")
    if p["rollouts_per_step"] * max(p["rollout_schedule"][2:]) * p["model_retain"] > 10**8:
        raise ParamError("model_retain", "rollouts_per_step x the longest rollout x model_retain (the model "
                         f"buffer's transitions) must be at most 100,000,000, got {p['model_retain']}")
    return p


def _check_dqn(p: dict[str, Any]) -> dict[str, Any]:
    p["hidden"] = check_int_in("hidden", p["hidden"], 1, 4096)
    p["layers"] = check_int_in("layers", p["layers"], 1, 8)
    p["lr"] = check_real_in("lr", p["lr"], 0.0, 1.0)
    p["model_lr"] = check_real_in("model_lr", p["model_lr"], 0.0, 1.0)
    p["gamma"] = check_real_in("gamma", p["gamma"], 0.0, 1.0, low_open=False)
    p["batch"] = check_int_in("batch", p["batch"], 1, 65_536)
    p["buffer"] = check_int_in("buffer", p["buffer"], 1, 10**7)
    p["learning_starts"] = check_int_in("learning_starts", p["learning_starts"], 1)
    p["epsilon_start"] = check_real_in("epsilon_start", p["epsilon_start"], 0.0, 1.0, low_open=False)
    p["epsilon_end"] = check_real_in("epsilon_end", p["epsilon_end"], 0.0, 1.0, low_open=False)
    p["explore_steps"] = check_int_in("explore_steps", p["explore_steps"], 1)
    p["target_every"] = check_int_in("target_every", p["target_every"], 1)
    p["planning_steps"] = check_int_in("planning_steps", p["planning_steps"], 0, 100_000)
    return p


def check_spaces(name: str, discrete: bool, observation_space: Any, action_space: Any) -> None:
    """``ValueError`` in one line unless the spaces are what agent ``name`` needs: a flat Box of
    observations and a Discrete action space (``discrete``) or a bounded flat Box of actions."""
    if not isinstance(observation_space, gym.spaces.Box) or len(observation_space.shape) != 1:
        raise ValueError(f"{name} needs a flat Box observation space, got {observation_space}")
    if discrete and not isinstance(action_space, gym.spaces.Discrete):
        raise ValueError(f"{name} needs a Discrete action space, got {action_space}")
    if not discrete and not (isinstance(action_space, gym.spaces.Box) and len(action_space.shape) == 1
                             and np.isfinite(action_space.low).all() and np.isfinite(action_space.high).all()):
        raise ValueError(f"{name} needs a bounded flat Box action space, got {action_space}")


class DeepDynaState(NamedTuple):
    """What a run has learned, as NumPy arrays (the contract compares them exactly).

    weights: float64[P], every leaf of the run's carry (networks, optimiser states, replay
    buffers, the key) flattened in pytree order; counters: int64[3], real steps, gradient
    updates and model steps made
    """

    weights: np.ndarray
    counters: np.ndarray


class DeepDynaView(NamedTuple):
    """What a viewer or a reproduction may read: real steps observed, gradient updates (direct
    and planning) and model steps (imagined transitions) made so far."""

    steps: int
    updates: int
    model_steps: int


def _make(env_id: str, env_kwargs: tuple[tuple[str, Any], ...], max_episode_steps: int | None) -> gym.Env[Any, Any]:
    kwargs = dict(env_kwargs)
    if max_episode_steps:
        kwargs["max_episode_steps"] = max_episode_steps
    return gym.make(env_id, **kwargs)


class DeepDynaAgent(NeuralAgent):
    """Base of the four (module docstring): an agent of ``dynaplan.neural`` (``_impl``) behind the
    object API, checked inputs in, one real step per ``observe``. Unlike the planners of the
    neural family, it runs any registered Gymnasium id with a flat Box of observations and the
    actions it needs (it steps the real env only), so ``problem_of`` checks spaces, not ids."""

    continuous: ClassVar[bool] = False
    DEFAULTS: ClassVar[Mapping[str, Any]] = {}

    def __init__(self, env: gym.Env[Any, Any], *, seed: int | None = None, **params: Any) -> None:
        self.params = self.check_params(params)
        check_spaces(self.name, not self.continuous, env.observation_space, env.action_space)
        self.seed = 0 if seed is None else int(seed)
        self._spaces(env)
        self._impl = self.build_state(env.observation_space, env.action_space, self.params, self.seed)

    @classmethod
    def implementation(cls) -> Any:
        """The ``dynaplan.neural`` agent class doing the work (imports JAX)."""
        raise NotImplementedError

    @classmethod
    def build_state(cls, *sizes: Any) -> Any:
        """``(observation_space, action_space, params, seed) -> `` the ``neural`` agent of one run."""
        observation_space, action_space, params, seed = sizes
        return cls.implementation()(observation_space, action_space, seed=seed, **params)

    @property  # type: ignore[override]
    def state(self) -> DeepDynaState:
        """The run's carry as NumPy arrays (:class:`DeepDynaState`)."""
        import jax

        leaves = [np.asarray(x, np.float64).ravel() for x in jax.tree_util.tree_leaves(self._impl.carry)]
        impl = self._impl
        return DeepDynaState(np.concatenate(leaves), np.array([impl.steps, impl.updates, impl.model_steps], np.int64))

    def view(self) -> DeepDynaView:
        return DeepDynaView(self._impl.steps, self._impl.updates, self._impl.model_steps)

    def _act(self, obs: Any) -> Any:
        return self._impl.act(obs)

    def _observe(self, obs: Any, action: Any, reward: float, next_obs: Any, terminated: bool, truncated: bool) -> None:
        self._impl.observe(obs, action, reward, next_obs, terminated, truncated)

    @classmethod
    def problem_of(cls, env: gym.Env[Any, Any] | str, **options: Any) -> Problem:
        """``Problem(world=(env id, env keyword arguments), "vector", ...)`` after checking the
        spaces (``ValueError`` in one line); ``n_actions`` is 0 for a Box action space."""
        limit = options.pop("max_episode_steps", None)
        made = gym.make(env, **options) if isinstance(env, str) else env
        env_id = env if isinstance(env, str) else getattr(made.spec, "id", None)
        if env_id is None:
            raise ValueError(f"{cls.name} runs on a registered Gymnasium id, got an env without one: {env!r}")
        check_spaces(cls.name, not cls.continuous, made.observation_space, made.action_space)
        n_actions = 0 if cls.continuous else int(made.action_space.n)  # type: ignore[attr-defined]
        limit = int(limit or getattr(made.spec, "max_episode_steps", None) or 0)
        return Problem((str(env_id), tuple(sorted(options.items()))), "vector", n_actions, limit,
                       obs_shape=tuple(made.observation_space.shape))  # type: ignore[arg-type]

    @classmethod
    def run_compiled(cls, params: Mapping[str, Any], problem: Problem, seed: int, *, episodes: int = 0,
                     steps: int = 0, record_step_rewards: bool = False, max_episode_steps: int | None = None,
                     chunker: Any = None) -> RunResult:
        """One run on the Gymnasium env (reset with ``seed``, then unseeded) through the same
        jitted functions as the object API, until ``episodes`` episodes or ``steps`` real steps.
        Many seeds in lockstep, vmapped, is ``dynaplan.neural.runner.run_seeds``."""
        env_id, env_kwargs = problem.world
        env = _make(env_id, env_kwargs, max_episode_steps)
        result = run_on_env(cls(env, seed=seed, **params), env, seed, episodes=episodes, steps=steps,
                            record_step_rewards=record_step_rewards)
        env.close()
        return result


class _Continuous(DeepDynaAgent):
    """A Box action space: ``act`` returns float32[act_dim]; ``observe`` takes an action in the box."""

    continuous: ClassVar[bool] = True
    example_env: ClassVar[str] = "Pendulum-v1"
    #: ``dynaplan.testing.check_agent`` runs 1 episode per run here (a Pendulum episode is 200 steps)
    example_episodes: ClassVar[int] = 1

    def _act(self, obs: Any) -> Any:
        return np.asarray(self._impl.act(obs), np.float32)


class SAC(_Continuous):
    """Soft actor-critic (Haarnoja et al. 2018): ``dynaplan.neural.sac.SACAgent``; the n = 0 row."""

    name: ClassVar[str] = "sac"
    DEFAULTS: ClassVar[Mapping[str, Any]] = SAC_DEFAULTS
    example_params: ClassVar[Mapping[str, Any]] = dict(hidden=8, batch=8, buffer=256, learning_starts=60)

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> dict[str, Any]:
        return _check_sac(_known(cls.name, params, cls.DEFAULTS))

    @classmethod
    def implementation(cls) -> Any:
        from dynaplan.neural.sac import SACAgent

        return SACAgent


class MBPO(_Continuous):
    """MBPO (Janner et al. 2019): SAC on branched rollouts of a learned ensemble,
    ``dynaplan.neural.mbpo.MBPOAgent``; ``updates_per_step`` (G) is the planning knob."""

    name: ClassVar[str] = "mbpo"
    DEFAULTS: ClassVar[Mapping[str, Any]] = MBPO_DEFAULTS
    example_params: ClassVar[Mapping[str, Any]] = dict(
        hidden=8, batch=8, buffer=256, learning_starts=60, updates_per_step=2, members=2, model_hidden=8,
        model_train_every=10_000, rollouts_per_step=4, model_retain=4, rollout_schedule=(0, 0, 2, 2))

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> dict[str, Any]:
        return _check_mbpo(_known(cls.name, params, cls.DEFAULTS))

    @classmethod
    def implementation(cls) -> Any:
        from dynaplan.neural.mbpo import MBPOAgent

        return MBPOAgent


class DQN(DeepDynaAgent):
    """DQN (Mnih et al. 2015): ``dynaplan.neural.dqn.DQNAgent``; ``planning_steps`` = 0 by default."""

    name: ClassVar[str] = "dqn"
    DEFAULTS: ClassVar[Mapping[str, Any]] = DQN_DEFAULTS
    example_env: ClassVar[str] = "CartPole-v1"
    example_params: ClassVar[Mapping[str, Any]] = dict(hidden=8, batch=8, buffer=256, learning_starts=20,
                                                       explore_steps=50, target_every=10)

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> dict[str, Any]:
        return _check_dqn(_known(cls.name, params, cls.DEFAULTS))

    def _act(self, obs: Any) -> int:
        return int(self._impl.act(obs))

    @classmethod
    def implementation(cls) -> Any:
        from dynaplan.neural.dqn import DQNAgent

        return DQNAgent


class DynaDQN(DQN):
    """Dyna-DQN (Sutton & Barto section 8.2 with networks): ``dynaplan.neural.dqn.DynaDQNAgent``,
    ``planning_steps`` (n, default 5) Q-learning updates on model transitions per real step."""

    name: ClassVar[str] = "dyna-dqn"
    DEFAULTS: ClassVar[Mapping[str, Any]] = {**DQN_DEFAULTS, "planning_steps": 5}
    example_params: ClassVar[Mapping[str, Any]] = {**DQN.example_params, "planning_steps": 3}

    @classmethod
    def implementation(cls) -> Any:
        from dynaplan.neural.dqn import DynaDQNAgent

        return DynaDQNAgent
