"""Linear agents on any Gymnasium env: tile-coded Box worlds, one-hot tabular worlds.

The linear family of the agent protocol (``core.agent.Agent``): ``"features"`` problems.
``Agent(env, features=None, seed=None, **params)``: ``features`` is a features object
(``TileCoder``, ``OneHot``, ``TableFeatures``, or your own with ``record()``,
``n_features`` and ``n_active``); by default (``agents.problems.default_features``) a
``Discrete`` observation space gets ``OneHot``, a bounded ``Box`` a ``TileCoder`` (8 tilings of
8 tiles per dimension, 4096 features), an unbounded one is refused. The action space must be
``Discrete``. ``act`` / ``observe`` call the same compiled kernels as the batched runner
(``run_compiled``: ``core.linear_loop.run_linear_loop``), which gives identical episodes for
the same seed; each agent owns a fresh copy of its features' record (a tile coder's index table).

Agents and their kernels (``planning.linear_td``, ``planning.linear_dyna``):

=====================  ==============================================================
``linear-q-learning``  Q-learning with linear action values (sections 6.5, 10.1)
``sarsa``              episodic semi-gradient Sarsa (section 10.1)
``sarsa-lambda``       Sarsa(lambda), replacing traces (section 12.7)
``linear-td``          TD(0) evaluation of the uniform random policy (section 9.3)
``lstd``               LSTD(0) (section 9.8), ``agent.theta`` solves ``A theta = b``
``linear-dyna``        linear Dyna, evaluation (Sutton et al. 2008, Algorithm 1)
``linear-dyna-q``      linear Dyna-Q, control (Sutton et al. 2008, section 4)
``linear-ps``          linear prioritized sweeping (Algorithms 2-3; ``control``)
=====================  ==============================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, NamedTuple

import gymnasium as gym
import numpy as np

from dynaplan.agents.problems import default_features, features_problem
from dynaplan.core.agent import Agent
from dynaplan.core.linear_kernels import linear_act_once, linear_observe_once
from dynaplan.core.linear_loop import run_linear_loop
from dynaplan.core.params import (
    ParamError,
    check_budget,
    check_choice,
    check_count,
    check_flag,
    check_index,
    check_positive,
    check_td_params,
    check_unit,
    check_vector,
)
from dynaplan.core.records import Budget, Problem, RunResult
from dynaplan.envs.continuous import buffer_sizes
from dynaplan.models.linear import new_linear_model
from dynaplan.planning.linear_dyna import (
    SOURCES,
    LinearDynaQState,
    LinearDynaState,
    LinearPSState,
    dyna_plan,
    ps_plan,
)
from dynaplan.planning.linear_td import LinearQState, LinearSarsaState, LSTDState, SarsaLambdaState, TDState
from dynaplan.planning.pqueue import new_pair_queue
from dynaplan.rng import agent_stream, env_stream


def check_linear_params(params: Mapping[str, Any], allowed: set[str], **defaults: Any) -> dict[str, Any]:
    """:func:`check_td_params` with gamma 1 by default, plus the keys of the linear agents."""
    out = check_td_params(params, allowed, **{"gamma": 1.0, **defaults})
    for key in ("lam", "beta"):
        if key in out:
            out[key] = check_unit(key, out[key])
    for key in ("planning_steps", "capacity"):
        if key in out:
            out[key] = check_count(key, out[key])
    if "capacity" in out and out["capacity"] < 1:
        raise ParamError("capacity", f"capacity must be at least 1, got {out['capacity']}")
    if "threshold" in out:
        out["threshold"] = check_positive("threshold", out["threshold"])
    if "ridge" in out:
        out["ridge"] = check_positive("ridge", out["ridge"])
    if "sources" in out:
        out["sources"] = check_choice("sources", out["sources"], tuple(SOURCES))
    if "model" in out:
        out["model"] = check_choice("model", out["model"], ("lms", "substochastic", "least-squares"))
        if out["model"] != "least-squares" and out.get("beta", 0.0) <= 0.0:
            raise ParamError("beta", f"beta must be in (0, 1] for model={out['model']!r}, got {out.get('beta')!r}")
    if "control" in out:
        out["control"] = check_flag("control", out["control"])
    return out


class LinearAgent(Agent):
    """The linear family (see the module docstring): observations are encoded by a features
    object into sparse features; kernels follow ``core.linear_kernels``."""

    family: ClassVar[str] = "linear"
    encoding: ClassVar[str] = "features"
    example_params: ClassVar[Mapping[str, Any]] = {"alpha": 0.5}

    def __init__(self, env: gym.Env[Any, Any], features: Any = None, *, seed: int | None = None, **params: Any) -> None:
        if not isinstance(env.action_space, gym.spaces.Discrete) or int(env.action_space.start) != 0:
            raise ValueError(f"linear agents need a Discrete action space starting at 0, got {env.action_space}")
        self.n_actions = int(env.action_space.n)
        space = env.observation_space
        #: Discrete observation spaces: the number of states (observations are indices); else 0.
        self.n_states = int(space.n) if isinstance(space, gym.spaces.Discrete) else 0
        if self.n_states and int(space.start) != 0:  # type: ignore[attr-defined]
            raise ValueError(f"linear agents need a Discrete observation space starting at 0, got {space}")
        self.obs_shape: tuple[int, ...] = tuple(space.shape or ())
        self.features = features if features is not None else default_features(space)
        self.params = self.check_params(params)
        self.seed = seed
        self.rng = agent_stream(seed)
        self.feature_record: NamedTuple = self.features.record()
        d, k = int(self.features.n_features), int(self.features.n_active)
        self.state: NamedTuple = self.build_state(d, k, self.n_actions, self.params)
        self._idx = np.zeros(k, dtype=np.int64)
        self._val = np.zeros(k)
        self._idx2 = np.zeros(k, dtype=np.int64)
        self._val2 = np.zeros(k)

    # -- the execution backend ------------------------------------------------------------
    @classmethod
    def problem_of(cls, env: gym.Env[Any, Any] | str, **options: Any) -> Problem:
        """``agents.problems.features_problem`` (options: ``features``, ``max_episode_steps``, env kwargs)."""
        return features_problem(env, **options)

    @classmethod
    def run_budget(cls, params: Mapping[str, Any], problem: Problem, seed: int, budget: Budget) -> RunResult:
        """One run in ``core.linear_loop.run_linear_loop`` (one compiled call; ``chunker`` unused);
        the features start fresh (an empty tile-coding table)."""
        if budget.record_step_rewards:
            raise ValueError(f"{cls.name}: the linear loop does not record step rewards")
        feats = problem.features
        state = cls.build_state(int(feats.n_features), int(feats.n_active), problem.n_actions, params)
        frec = feats.record()
        ep_steps, ep_returns = budget.episode_outputs()
        n_state, n_obs = buffer_sizes(problem.world)
        k = int(feats.n_active)
        done, t = run_linear_loop(
            problem.world, frec, state, agent_stream(seed), env_stream(seed), budget.episodes, budget.steps,
            budget.limit(problem), ep_steps, ep_returns, np.zeros(n_state), np.zeros(n_obs),
            np.zeros(k, dtype=np.int64), np.zeros(k), np.zeros(k, dtype=np.int64), np.zeros(k),
        )
        n = min(done, budget.capacity)
        return RunResult(int(seed), ep_steps[:n], ep_returns[:n], np.zeros(0), int(t), state, frec)

    # -- the object API -------------------------------------------------------------------
    def check_obs(self, obs: Any, name: str = "obs") -> np.ndarray:
        """``obs`` as the float64 vector the features encode: a state index in [0, n_states) for
        a Discrete space, a finite array of the space's shape for a Box (ValueError naming ``name``)."""
        if self.n_states:
            return np.full(1, float(check_index(name, obs, self.n_states, "state")))
        return check_vector(obs, self.obs_shape, name)

    def _act(self, obs: np.ndarray) -> int:
        return int(linear_act_once(self.feature_record, self.state, obs, self._idx, self._val, self.rng))

    def _observe(
        self, obs: np.ndarray, action: int, reward: float, next_obs: np.ndarray, terminated: bool, truncated: bool
    ) -> None:
        linear_observe_once(
            self.feature_record, self.state, obs, action, reward, next_obs,
            terminated, truncated, self._idx, self._val, self._idx2, self._val2, self.rng,
        )

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({self.features!r}, {args}, seed={self.seed!r})"


class _QAgent(LinearAgent):
    @property
    def w(self) -> np.ndarray:
        """Weights float64[d, A]: q(s, a) = sum_j w[idx_j, a] val_j (one-hot: the Q table)."""
        return self.state.w  # type: ignore[attr-defined, no-any-return]

    @staticmethod
    def _w0(d: int, k: int, n_actions: int, params: Mapping[str, Any]) -> np.ndarray:
        # q_init spread over the k active features, so every q(s, a) starts at q_init
        return np.full((d, n_actions), float(params["q_init"]) / k)


class LinearQLearning(_QAgent):
    """Q-learning with linear action values; on one-hot features it is ``QLearning`` exactly.

    ``LinearQLearning(env, features, alpha=0.1, epsilon=0.1, gamma=1.0, q_init=0.0, seed=None)``;
    ``alpha`` is the step size of each weight (the book's ``alpha / tilings`` for tile coding).
    """

    name = "linear-q-learning"

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> dict[str, Any]:
        return check_linear_params(params, set())

    @classmethod
    def build_state(cls, d: int, k: int, n_actions: int, params: Mapping[str, Any]) -> NamedTuple:
        return LinearQState(
            cls._w0(d, k, n_actions, params), np.zeros(n_actions), np.full(1, -1, dtype=np.int64),
            params["alpha"], params["gamma"], params["epsilon"],
        )


class Sarsa(_QAgent):
    """Episodic semi-gradient Sarsa (section 10.1): ``Sarsa(env, features, alpha=0.1, epsilon=0.1,
    gamma=1.0, q_init=0.0)``. Figure 10.2 uses 8 tilings, ``alpha = 0.5 / 8``, ``epsilon = 0``."""

    name = "sarsa"

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> dict[str, Any]:
        return check_linear_params(params, set())

    @classmethod
    def build_state(cls, d: int, k: int, n_actions: int, params: Mapping[str, Any]) -> NamedTuple:
        return LinearSarsaState(
            cls._w0(d, k, n_actions, params), np.zeros(n_actions), np.full(1, -1, dtype=np.int64),
            params["alpha"], params["gamma"], params["epsilon"],
        )


class SarsaLambda(_QAgent):
    """Sarsa(lambda) with replacing traces (section 12.7): parameters of ``Sarsa`` plus ``lam=0.9``."""

    name = "sarsa-lambda"

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> dict[str, Any]:
        return check_linear_params(params, {"lam"}, lam=0.9)

    @classmethod
    def build_state(cls, d: int, k: int, n_actions: int, params: Mapping[str, Any]) -> NamedTuple:
        return SarsaLambdaState(
            cls._w0(d, k, n_actions, params), np.zeros(n_actions), np.full(1, -1, dtype=np.int64),
            np.zeros((d, n_actions)), np.zeros(1, dtype=np.int64),
            params["alpha"], params["gamma"], params["epsilon"], params["lam"],
        )


class _VAgent(LinearAgent):
    @property
    def theta(self) -> np.ndarray:
        """Value weights float64[d]: v(s) = theta^T phi(s)."""
        return self.state.theta  # type: ignore[attr-defined, no-any-return]


class LinearTD(_VAgent):
    """Semi-gradient TD(0) evaluation of the uniform random policy (section 9.3)."""

    name = "linear-td"

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> dict[str, Any]:
        return check_linear_params(params, set())

    @classmethod
    def build_state(cls, d: int, k: int, n_actions: int, params: Mapping[str, Any]) -> NamedTuple:
        return TDState(np.zeros(d), n_actions, params["alpha"], params["gamma"])


class LSTD(_VAgent):
    """LSTD(0) (section 9.8): accumulates ``A = ridge I + sum phi (phi - gamma phi')^T`` and
    ``b = sum r phi``; ``agent.theta`` is ``A^-1 b`` (``ridge=1e-3``)."""

    name = "lstd"

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> dict[str, Any]:
        return check_linear_params(params, {"ridge"}, ridge=1e-3)

    @classmethod
    def build_state(cls, d: int, k: int, n_actions: int, params: Mapping[str, Any]) -> NamedTuple:
        return LSTDState(np.eye(d) * params["ridge"], np.zeros(d), n_actions, params["gamma"])

    @property
    def theta(self) -> np.ndarray:
        st: Any = self.state
        return lstd_solution(st)


def lstd_solution(state: Any) -> np.ndarray:
    """``A^-1 b`` of an ``LSTDState``."""
    return np.asarray(np.linalg.solve(state.a_mat, state.b))


def _model_for(n_models: int, d: int, params: Mapping[str, Any]) -> Any:
    beta = 0.0 if params["model"] == "least-squares" else params["beta"]
    if params["model"] != "least-squares" and beta <= 0.0:
        raise ParamError("beta", f"beta must be in (0, 1] for model={params['model']!r}")
    return new_linear_model(
        n_models, d, beta=beta, eps=params["ridge"], substochastic=params["model"] == "substochastic"
    )


class LinearDyna(_VAgent):
    """Linear Dyna for policy evaluation (Sutton et al. 2008, Algorithm 1).

    ``LinearDyna(env, features, planning_steps=5, sources="visited", capacity=10000,
    model="least-squares", beta=0.1, ridge=1e-3, alpha=0.1, gamma=1.0)``: ``model="lms"`` learns
    ``F, b`` by LMS with step ``beta`` (the paper's rule); ``"least-squares"`` by recursive least
    squares (the fixed point is then LSTD's). ``agent.plan(n)`` makes ``n`` planning updates.
    """

    name = "linear-dyna"
    n_models_control = False

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> dict[str, Any]:
        return check_linear_params(
            params, {"planning_steps", "sources", "capacity", "model", "beta", "ridge"},
            planning_steps=5, sources="visited", capacity=10000, model="least-squares", beta=0.1, ridge=1e-3,
        )

    @classmethod
    def build_state(cls, d: int, k: int, n_actions: int, params: Mapping[str, Any]) -> NamedTuple:
        n = params["capacity"]
        common = dict(
            theta=np.zeros(d),
            src_idx=np.zeros((n, k), dtype=np.int64),
            src_val=np.zeros((n, k)),
            src_count=np.zeros(2, dtype=np.int64),
            one_idx=np.zeros(1, dtype=np.int64),
            one_val=np.zeros(1),
            updates=np.zeros(1, dtype=np.int64),
            n_actions=n_actions,
            planning_steps=params["planning_steps"],
            sources=SOURCES[params["sources"]],
            alpha=params["alpha"],
            gamma=params["gamma"],
        )
        if cls.n_models_control:
            return LinearDynaQState(
                model=_model_for(n_actions, d, params), qbuf=np.zeros(n_actions), epsilon=params["epsilon"], **common
            )
        return LinearDynaState(model=_model_for(1, d, params), **common)

    def plan(self, n_updates: int) -> None:
        """``n_updates`` planning updates now, without a real step."""
        n_updates = check_budget("n_updates", n_updates)
        st: Any = self.state
        dyna_plan(st, self.n_actions if self.n_models_control else 1, n_updates, self.rng)

    @property
    def updates(self) -> int:
        """Value updates made so far (direct + planning)."""
        return int(self.state.updates[0])  # type: ignore[attr-defined]


class LinearDynaQ(LinearDyna):
    """Linear Dyna-Q (Sutton et al. 2008, section 4): per-action ``F_a, b_a``, epsilon-greedy on
    ``b_a^T phi + gamma theta^T F_a phi``; defaults as ``LinearDyna`` but ``model="lms"``."""

    name = "linear-dyna-q"
    n_models_control = True

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> dict[str, Any]:
        return check_linear_params(
            params, {"planning_steps", "sources", "capacity", "model", "beta", "ridge"},
            planning_steps=5, sources="visited", capacity=10000, model="lms", beta=0.1, ridge=1e-3,
        )


class LinearPrioritizedSweeping(_VAgent):
    """Linear prioritized sweeping (Sutton et al. 2008, Algorithms 2-3).

    ``LinearPrioritizedSweeping(env, features, planning_steps=5, control=True, threshold=1e-4,
    model="lms", beta=0.1, ridge=1e-3, alpha=0.1, epsilon=0.1, gamma=1.0)``. ``control=False``
    evaluates the uniform random policy with one model.

    ``model="substochastic"`` (LMS with each updated column of ``F_a`` kept nonnegative with sum
    <= 1, ``models.linear``) makes the single-feature backups value iteration on a substochastic
    feature model, a max-norm non-expansion. With plain LMS on tile-coded Mountain Car at
    gamma = 1 the learned ``F_a`` reaches spectral radius above 1 and column absolute sums of 2-5,
    and at n = 50 3 of 10 runs lost control (docs/reproductions/beyond-tables.md, "Planning on Mountain Car"); with
    ``"substochastic"``, 0 of 10.
    """

    name = "linear-ps"

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> dict[str, Any]:
        return check_linear_params(
            params, {"planning_steps", "control", "threshold", "model", "beta", "ridge"},
            planning_steps=5, control=True, threshold=1e-4, model="lms", beta=0.1, ridge=1e-3,
        )

    @classmethod
    def build_state(cls, d: int, k: int, n_actions: int, params: Mapping[str, Any]) -> NamedTuple:
        control = params["control"]
        return LinearPSState(
            theta=np.zeros(d),
            model=_model_for(n_actions if control else 1, d, params),
            queue=new_pair_queue(d),
            updates=np.zeros(1, dtype=np.int64),
            qbuf=np.zeros(n_actions),
            n_actions=n_actions,
            planning_steps=params["planning_steps"],
            alpha=params["alpha"],
            gamma=params["gamma"],
            epsilon=params["epsilon"],
            threshold=params["threshold"],
            control=control,
        )

    def plan(self, n_updates: int) -> None:
        """Up to ``n_updates`` queued backups now."""
        n_updates = check_budget("n_updates", n_updates)
        st: Any = self.state
        ps_plan(st, n_updates)

    @property
    def updates(self) -> int:
        return int(self.state.updates[0])  # type: ignore[attr-defined]


SHIPPED: tuple[type[LinearAgent], ...] = (
    LinearQLearning, Sarsa, SarsaLambda, LinearTD, LSTD, LinearDyna, LinearDynaQ, LinearPrioritizedSweeping
)
"""The shipped linear agents (registered in ``AGENTS`` by ``dynaplan.agents``)."""
