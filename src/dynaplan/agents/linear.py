"""Linear agents on any Gymnasium env: tile-coded Box worlds, one-hot tabular worlds.

``Agent(env, features=None, seed=None, **params)``: ``features`` is a features object
(``TileCoder``, ``OneHot``, ``TableFeatures``, or your own with ``record()``,
``n_features`` and ``n_active``); by default a ``Discrete`` observation space gets
``OneHot`` and a ``Box`` one is refused (say how to cut it into features). The action space
must be ``Discrete``. ``act`` / ``observe`` call the same compiled kernels as the batched
runner (``experiments.linear.run_linear_agent``), which gives identical episodes for the same
seed; each agent owns a fresh copy of its features' record (a tile coder's index table).

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

from dynaplan.agents.base import (
    ParamError,
    check_choice,
    check_count,
    check_flag,
    check_positive,
    check_td_params,
    check_unit,
    play_episode,
)
from dynaplan.features.onehot import OneHot
from dynaplan.models.linear import new_linear_model
from dynaplan.planning.linear_dyna import (
    SOURCES,
    LinearDynaQState,
    LinearDynaState,
    LinearPSState,
    dyna_plan,
    ps_plan,
)
from dynaplan.planning.linear_protocol import linear_act_once, linear_observe_once
from dynaplan.planning.linear_td import LinearQState, LinearSarsaState, LSTDState, SarsaLambdaState, TDState
from dynaplan.planning.pqueue import new_pair_queue
from dynaplan.rng import agent_stream


def default_features(space: gym.Space[Any]) -> Any:
    """``OneHot`` for a Discrete observation space; a Box needs features given explicitly."""
    if isinstance(space, gym.spaces.Discrete):
        return OneHot.from_space(space)
    raise ValueError(
        f"a linear agent needs features for the observation space {space}: pass features=, "
        "e.g. TileCoder.from_space(env.observation_space, tilings=8, tiles_per_dim=8, size=4096)"
    )


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


class LinearAgent:
    """Base of the linear object API (see the module docstring)."""

    name: ClassVar[str] = ""

    def __init__(self, env: gym.Env[Any, Any], features: Any = None, *, seed: int | None = None, **params: Any) -> None:
        if not isinstance(env.action_space, gym.spaces.Discrete) or int(env.action_space.start) != 0:
            raise ValueError(f"linear agents need a Discrete action space starting at 0, got {env.action_space}")
        self.n_actions = int(env.action_space.n)
        self.features = features if features is not None else default_features(env.observation_space)
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

    # -- what a subclass provides ---------------------------------------------------------
    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def build_state(cls, d: int, k: int, n_actions: int, params: Mapping[str, Any]) -> NamedTuple:
        raise NotImplementedError

    # -- the object API -------------------------------------------------------------------
    @staticmethod
    def _obs(obs: Any) -> np.ndarray:
        return np.asarray(obs, dtype=np.float64).reshape(-1)

    def act(self, obs: Any) -> int:
        """An action for ``obs`` under the agent's behaviour policy."""
        return int(linear_act_once(self.feature_record, self.state, self._obs(obs), self._idx, self._val, self.rng))

    def observe(
        self, obs: Any, action: int, reward: float, next_obs: Any, terminated: bool, truncated: bool = False
    ) -> None:
        """Learn from one real transition (and plan, for planning agents)."""
        linear_observe_once(
            self.feature_record, self.state, self._obs(obs), int(action), float(reward), self._obs(next_obs),
            bool(terminated), bool(truncated), self._idx, self._val, self._idx2, self._val2, self.rng,
        )

    def run_episode(self, env: gym.Env[Any, Any], *, seed: int | None = None, learn: bool = True) -> tuple[int, float]:
        """Play one episode in ``env`` (reset with ``seed``); returns (steps, return)."""
        return play_episode(self, env, seed=seed, learn=learn)

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
        st: Any = self.state
        dyna_plan(st, self.n_actions if self.n_models_control else 1, int(n_updates), self.rng)

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
        st: Any = self.state
        ps_plan(st, int(n_updates))

    @property
    def updates(self) -> int:
        return int(self.state.updates[0])  # type: ignore[attr-defined]


LINEAR_AGENTS: dict[str, type[LinearAgent]] = {
    cls.name: cls
    for cls in (
        LinearQLearning, Sarsa, SarsaLambda, LinearTD, LSTD, LinearDyna, LinearDynaQ, LinearPrioritizedSweeping
    )
}


def register_linear_agent(cls: type[LinearAgent]) -> type[LinearAgent]:
    """Make a linear agent class available to specs under ``cls.name`` (a decorator)."""
    LINEAR_AGENTS[cls.name] = cls
    return cls
