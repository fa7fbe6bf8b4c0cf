"""What the neural family's agents share in the one agent protocol: vector observations, Box or
Discrete actions, and the runner's loop on the Gymnasium env through the agent's own jitted programs.

This module imports no JAX (``import dynaplan`` registers the neural agents without it). A
concrete agent sets ``name``, ``world_ids`` (the env ids it runs), ``check_params``,
``build_state``, ``_act`` / ``_observe`` (which import JAX lazily), and calls
:meth:`NeuralAgent._spaces` in its ``__init__``.

``run_compiled`` is the object API's loop itself (``env.reset(seed=seed)``, then ``act`` /
``env.step`` / ``observe``, ``env.reset()`` after each episode): each decision and each update
is one jitted program, so a run through the runner equals the object API bit for bit on the same
seed (``dynaplan.testing.check_agent``). Many seeds batched in one program (``vmap``) is each
agent's own fast path (for PETS, ``dynaplan.neural.pets.run_seeds``, the reproductions' runner).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from dynaplan.core.agent import Agent
from dynaplan.core.params import ParamError, check_vector
from dynaplan.core.records import Problem, RunResult

__all__ = ["NeuralAgent", "check_box_action", "run_on_env"]


def check_box_action(action: Any, low: np.ndarray, high: np.ndarray, name: str = "action") -> np.ndarray:
    """``action`` as a float32 vector of ``low``'s shape inside ``[low, high]``; ValueError naming
    ``name`` (one line) for a wrong shape, a non-number, a NaN or a value outside the box."""
    try:
        a = np.asarray(action, dtype=np.float32)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an array of numbers of shape {low.shape}, got {action!r}") from None
    if a.shape != low.shape:
        raise ValueError(f"{name} must have shape {low.shape}, got shape {a.shape}")
    if not np.isfinite(a).all() or (a < low).any() or (a > high).any():
        raise ValueError(f"{name} must be finite and within [{low.tolist()}, {high.tolist()}], got {a.tolist()}")
    return a


class NeuralAgent(Agent):
    """The neural family: raw float vectors in (``encoding = "vector"``), actions from the env's
    Box (a float32 vector) or Discrete space. Subclasses: see the module docstring."""

    family: ClassVar[str] = "neural"
    encoding: ClassVar[str] = "vector"
    #: The Gymnasium ids whose dynamics the agent's programs step (the worlds stepped in JAX).
    world_ids: ClassVar[tuple[str, ...]] = ()
    #: Whether the agent plans Box (continuous) actions; otherwise Discrete ones.
    continuous: ClassVar[bool] = True

    obs_shape: tuple[int, ...]
    action_low: np.ndarray
    action_high: np.ndarray

    @classmethod
    def env_id(cls, env: gym.Env[Any, Any] | str) -> str:
        """The env's id if the agent runs it (its spaces fit); ``ParamError`` on ``env`` otherwise."""
        if not isinstance(env, str):
            space = env.action_space
            if cls.continuous and not isinstance(space, gym.spaces.Box):
                raise ParamError("env", f"{cls.name} plans continuous actions: it needs a Box action space, "
                                        f"got {space}")
            if not cls.continuous and not isinstance(space, gym.spaces.Discrete):
                raise ParamError("env", f"{cls.name} needs a Discrete action space, got {space}")
        env_id = env if isinstance(env, str) else getattr(getattr(env, "spec", None), "id", None)
        if env_id not in cls.world_ids:
            raise ParamError("env", f"{cls.name} runs {', '.join(cls.world_ids)} (their dynamics stepped in "
                                    f"JAX), got {env_id!r}")
        return str(env_id)

    def _spaces(self, env: gym.Env[Any, Any]) -> None:
        """Set ``obs_shape`` and the action's bounds (``n_actions``: Discrete actions; 0 for a Box)."""
        self.obs_shape = tuple(env.observation_space.shape or ())
        space = env.action_space
        if isinstance(space, gym.spaces.Box):
            self.action_low = np.asarray(space.low, np.float32)
            self.action_high = np.asarray(space.high, np.float32)
            self.n_actions = 0
        else:
            self.n_actions = int(space.n)  # type: ignore[attr-defined]

    def check_obs(self, obs: Any, name: str = "obs") -> Any:
        return check_vector(obs, self.obs_shape, name).astype(np.float32)

    def check_action(self, action: Any, name: str = "action") -> Any:
        if not self.continuous:
            return super().check_action(action, name)
        return check_box_action(action, self.action_low, self.action_high, name)

    @classmethod
    def problem_of(cls, env: gym.Env[Any, Any] | str, **options: Any) -> Problem:
        """``Problem(env_id, "vector", n_actions (0 for a Box), time limit, obs_shape)``."""
        env_id = cls.env_id(env)
        made = gym.make(env_id) if isinstance(env, str) else env
        limit = int(options.get("max_episode_steps") or getattr(made.spec, "max_episode_steps", 0) or 0)
        space = made.action_space
        n_actions = int(space.n) if isinstance(space, gym.spaces.Discrete) else 0
        return Problem(env_id, "vector", n_actions, limit, obs_shape=tuple(made.observation_space.shape or ()))

    @classmethod
    def run_compiled(cls, params: Mapping[str, Any], problem: Problem, seed: int, *, episodes: int = 0,
                     steps: int = 0, record_step_rewards: bool = False, max_episode_steps: int | None = None,
                     chunker: Any = None) -> RunResult:
        """One run on the Gymnasium env (reset with ``seed``, then unseeded) until ``episodes``
        episodes or ``steps`` real steps, through the agent's own jitted programs (module doc)."""
        env = gym.make(str(problem.world), max_episode_steps=max_episode_steps or None)
        result = run_on_env(cls(env, seed=seed, **params), env, seed, episodes=episodes, steps=steps,
                            record_step_rewards=record_step_rewards)
        env.close()
        return result


def run_on_env(agent: Agent, env: gym.Env[Any, Any], seed: int, *, episodes: int = 0, steps: int = 0,
               record_step_rewards: bool = False) -> RunResult:
    """One run of ``agent``'s object API on ``env`` (reset with ``seed`` for the first episode,
    then unseeded) until ``episodes`` episodes (if > 0) or ``steps`` real steps (if > 0): the
    neural family's one episode loop, which its ``run_compiled`` methods share."""
    lengths: list[int] = []
    returns: list[float] = []
    rewards: list[float] = []
    taken, n, total = 0, 0, 0.0
    obs, _ = env.reset(seed=seed)
    while (not episodes or len(returns) < episodes) and (not steps or taken < steps):
        action = agent.act(obs)
        next_obs, reward, terminated, truncated, _ = env.step(action)
        agent.observe(obs, action, float(reward), next_obs, terminated, truncated)
        n, total, obs, taken = n + 1, total + float(reward), next_obs, taken + 1
        if record_step_rewards:
            rewards.append(float(reward))
        if terminated or truncated:
            lengths.append(n)
            returns.append(total)
            n, total = 0, 0.0
            obs, _ = env.reset()
    return RunResult(seed, np.asarray(lengths, np.int64), np.asarray(returns, np.float64),
                     np.asarray(rewards, np.float64), taken, agent.state)
