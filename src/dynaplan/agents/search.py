"""Agents that act by planning at decision time (book sections 8.8 to 8.11).

``MCTS``, ``RolloutPlanner`` and ``Lookahead`` search a model from each state they act in:

* ``model="exact"`` (default): the env's own model (``env.unwrapped.model`` or its ``P``
  table); a ``TabularModel`` may be passed instead of an env;
* ``model="sample"``: a ``SampleModel`` learned from real steps (last outcome per pair);
* ``model="distribution"``: a ``DistributionModel`` learned from real steps (outcome counts,
  up to ``max_outcomes`` per pair).

With a learned model the agent is Dyna with search: every real step updates the model, makes
a direct Q-learning update (``learn`` is forced on) and ``planning_steps`` background updates,
and every decision searches the learned model, untried pairs being worth ``q[s, a]`` (start
at ``q_init``). ``DynaMCTS`` is ``MCTS`` with ``model="sample", planning_steps=5, q_init=1``.

The same kernels run in the compiled runner (``run_agent``), so ``dynaplan run --agent mcts``
works on any env with an exact model. A wall-clock budget (``seconds``) exists only through
``agent.search(obs, seconds=...)`` and ``dynaplan.search.mcts_search``: compiled runs count
simulations.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, NamedTuple

import gymnasium as gym
import numpy as np

from dynaplan.agents.base import (
    ParamError,
    TabularAgent,
    check_choice,
    check_count,
    check_flag,
    check_known,
    check_number,
    check_positive_count,
    check_unit,
)
from dynaplan.envs.tabular import TabularModel
from dynaplan.models.distribution import new_distribution_model
from dynaplan.models.sample import new_sample_model
from dynaplan.rng import agent_stream
from dynaplan.search.mcts import BACKUPS, EVALUATIONS, KEYS, mcts_search
from dynaplan.search.path_tree import new_path_tree
from dynaplan.search.result import SearchResult, new_root_stats, new_search_counters
from dynaplan.search.searchers import (
    METHOD_LOOKAHEAD,
    METHOD_MCTS,
    METHOD_ROLLOUT,
    LastStep,
    PathTreeAgentState,
    SearchAgentState,
)
from dynaplan.search.state_table import clear_table, new_state_table

SEARCHED_MODELS = ("exact", "sample", "distribution")
"""What a searching agent plans over (its ``model`` parameter): the env's exact model, or a
sample / distribution model learned from real steps (``searched_model``)."""


def _simulations(params: Mapping[str, Any]) -> int:
    """Simulations per search: as given, or unbounded under a budget of model steps."""
    if params.get("model_steps", 0) > 0:
        return 2**62
    return int(params.get("simulations", 1))


def searched_model(
    name: str, n_states: int, n_actions: int, model: TabularModel | None, params: Mapping[str, Any]
) -> Any:
    """The model a searching agent plans over: the env's exact one, or a fresh learned sample /
    distribution model (``params["model"]``; ``max_outcomes`` slots per pair for the latter)."""
    kind = params["model"]
    if kind == "exact":
        if model is None:
            raise ParamError("model", f"{name} with model='exact' needs an env with an exact model")
        return model
    if kind == "sample":
        return new_sample_model(n_states, n_actions)
    return new_distribution_model(n_states, n_actions, params["max_outcomes"])


def check_c(c: Any) -> float:
    """The UCB1 constant: a non-negative number (``ParamError`` naming ``c``)."""
    if isinstance(c, bool) or not isinstance(c, int | float) or not c >= 0:
        raise ParamError("c", f"c must be a non-negative number, got {c!r}")
    return float(c)


class SearchAgent(TabularAgent):
    """Base of the search agents: ``Cls(env_or_model, seed=None, **params)``.

    ``check_params`` here checks what every searching agent has (``COMMON``: discount, horizon,
    real-step learning, the model searched, write-back); each subclass checks its own ``extra``
    parameters in its own ``check_params``.
    """

    method: ClassVar[int] = METHOD_MCTS
    COMMON: ClassVar[dict[str, Any]] = {
        "gamma": 0.95, "depth": 50, "epsilon": 0.0, "alpha": 0.1, "q_init": 0.0, "model": "exact",
        "planning_steps": 0, "learn": False, "write_back": False, "max_outcomes": 8,
    }
    extra: ClassVar[dict[str, Any]] = {}

    def __init__(self, env: gym.Env[Any, Any] | TabularModel, *, seed: int | None = None, **params: Any) -> None:
        if isinstance(env, TabularModel):
            self.n_states, self.n_actions = env.n_states, env.n_actions
            self.params = self.check_params(params)
            self.seed = seed
            self.rng = agent_stream(seed)
            self.state: NamedTuple = self.build_state(self.n_states, self.n_actions, env, self.params)
        else:
            super().__init__(env, seed=seed, **params)

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> dict[str, Any]:
        """The common parameters checked, the subclass's ``extra`` ones filled in with their defaults."""
        defaults = {**cls.COMMON, **cls.extra}
        check_known(params, defaults, cls.name)
        out = {**defaults, **params}
        out["gamma"] = check_unit("gamma", out["gamma"])
        out["epsilon"] = check_unit("epsilon", out["epsilon"])
        out["alpha"] = check_unit("alpha", out["alpha"], low_open=True)
        out["depth"] = check_positive_count("depth", out["depth"])
        out["planning_steps"] = check_count("planning_steps", out["planning_steps"])
        out["max_outcomes"] = check_positive_count("max_outcomes", out["max_outcomes"])
        out["model"] = check_choice("model", out["model"], SEARCHED_MODELS)
        out["learn"] = check_flag("learn", out["learn"])
        out["write_back"] = check_flag("write_back", out["write_back"])
        if out["model"] != "exact":
            out["learn"] = True
        out["q_init"] = check_number("q_init", out["q_init"])
        return out

    @classmethod
    def needs_model_for(cls, params: Mapping[str, Any]) -> bool:
        return bool(params["model"] == "exact")

    @classmethod
    def state_bytes(cls, n_states: int, n_actions: int, params: Mapping[str, Any]) -> tuple[int, str, str]:
        """(bytes, key, what) of the largest allocation ``params`` ask for on S states and A
        actions, before it is made: the book's tree (``key="path"``: ``capacity`` nodes of 6
        int64/float64 fields and 5 per action), a state- or horizon-keyed table (rows of 5 per
        action), and the agent's Q table."""
        q = 8 * n_states * n_actions
        if cls.method == METHOD_MCTS and params["key"] == "path":
            capacity = cls.tree_capacity(params)
            key = "model_steps" if params["model_steps"] else "simulations"
            key = "max_nodes" if params.get("max_nodes") else key
            return q + capacity * 8 * (6 + 5 * n_actions), key, f"a search tree of {capacity:,} nodes"
        if cls.method == METHOD_MCTS:
            rows = n_states if params["key"] == "state" else (params["depth"] + 1) * n_states
            return q + rows * 8 * (7 + 5 * n_actions), "depth", f"a search table of {rows:,} rows"
        return q + 8 * 3 * params["depth"], "depth", f"a search path of {params['depth']:,} steps"

    @classmethod
    def step_work(cls, n_actions: int, n_outcomes: int, params: Mapping[str, Any]) -> tuple[float, str]:
        """(model steps or backups of one decision, the key that sets it): exhaustive lookahead
        expands every action and outcome to ``depth`` ((A K)^depth), rollouts and MCTS make
        ``simulations`` of at most ``depth`` steps (or ``model_steps``); planning adds
        ``planning_steps``."""
        depth = params["depth"]
        if cls.method == METHOD_LOOKAHEAD:
            branching = max(1, n_actions * n_outcomes)
            work, key = float(branching) ** min(depth, 400), "depth"
        elif params.get("model_steps"):
            work, key = float(params["model_steps"]), "model_steps"
        else:
            work, key = float(params.get("simulations", 1)) * depth, "simulations"
        return max((work, key), (float(params["planning_steps"]), "planning_steps"))

    @staticmethod
    def tree_capacity(params: Mapping[str, Any]) -> int:
        """Nodes of the book's tree: ``max_nodes``, else one per simulation (ten searches' worth
        when the tree persists)."""
        per_search = params["model_steps"] or params["simulations"]  # a simulation adds at most one node
        return int(params.get("max_nodes") or (10 * per_search + 1 if params["persist"] else per_search + 1))

    @classmethod
    def check_state_size(cls, n_states: int, n_actions: int, params: Mapping[str, Any]) -> None:
        """``ParamError`` naming the key, when the agent's state would not fit in memory."""
        from dynaplan.memory import too_large

        nbytes, key, what = cls.state_bytes(n_states, n_actions, params)
        problem = too_large(nbytes, what)
        if problem:
            raise ParamError(key, f"{key}: {problem}; lower {key}")

    @classmethod
    def build_state(
        cls, n_states: int, n_actions: int, model: TabularModel | None, params: Mapping[str, Any]
    ) -> NamedTuple:
        """A ``SearchAgentState`` (lookahead, rollouts, MCTS on a state table); ``MCTS`` overrides it
        for the path tree."""
        cls.check_state_size(n_states, n_actions, params)
        searched = searched_model(cls.name, n_states, n_actions, model, params)
        depth = params["depth"]
        if cls.method == METHOD_MCTS:
            table = new_state_table(n_states, n_actions, depth, params["key"], params["backup"], params["model_steps"])
        else:
            table = new_state_table(1, n_actions, 1)
        return SearchAgentState(
            q=np.full((n_states, n_actions), params["q_init"]),
            model=searched,
            table=table,
            root=new_root_stats(n_actions),
            counters=new_search_counters(),
            path=np.zeros((2, depth), dtype=np.int64),
            path_rewards=np.zeros(depth),
            sums=np.zeros(n_actions),
            expanded=np.zeros(1, dtype=np.int64),
            method=cls.method,
            learned=params["model"] != "exact",
            learn=params["learn"],
            simulations=_simulations(params),
            depth=depth,
            c=params.get("c", 0.0),
            gamma=params["gamma"],
            alpha=params["alpha"],
            epsilon=params["epsilon"],
            planning_steps=params["planning_steps"],
            evaluation=EVALUATIONS[params.get("evaluation", "rollout")],
            key=KEYS[params.get("key", "state")],
            persist=params.get("persist", False),
            write_back=params["write_back"],
            greedy_rollouts=params.get("policy", "random") == "greedy",
        )

    # -- search statistics ----------------------------------------------------------------
    @property
    def model(self) -> Any:
        """The model searched (the exact one, or the one being learned)."""
        return self.state.model  # type: ignore[attr-defined]

    @property
    def last_search(self) -> dict[str, np.ndarray]:
        """Root statistics of the last decision searched: ``visits`` and ``values`` (float64[A])."""
        root: Any = self.state.root  # type: ignore[attr-defined]
        return {"visits": root.n.copy(), "values": root.q.copy()}

    @property
    def stats(self) -> dict[str, float]:
        """Decisions searched, simulations, model steps, real steps, and model steps per decision
        (and nodes reused, on the path tree)."""
        c = self.state.counters  # type: ignore[attr-defined]
        decisions = int(c.decisions[0])
        return {
            "decisions": decisions,
            "simulations": int(c.simulations[0]),
            "model_steps": int(c.model_steps[0]),
            "real_steps": int(c.real_steps[0]),
            "model_steps_per_decision": float(c.model_steps[0]) / decisions if decisions else 0.0,
            **({"nodes_reused": int(c.nodes_reused[0])} if isinstance(self.state, PathTreeAgentState) else {}),
        }


class MCTS(SearchAgent):
    """Acts by Monte Carlo Tree Search (section 8.11) from every state it is in.

    ``MCTS(env_or_model, simulations=200, c=1.0, depth=50, gamma=0.95, persist=True,
    evaluation="rollout", key="path", backup="every", max_nodes=None, model_steps=0, write_back=False,
    epsilon=0.0, model="exact", planning_steps=0, learn=False, alpha=0.1, q_init=0.0, seed=None)``.

    ``model_steps > 0`` makes the budget of every decision that many model steps (tree and
    rollout draws; ``simulations`` is then ignored), so that searches of different kinds can be
    compared at equal compute.

    ``key="path"`` (default) grows the book's tree (``search.path_tree``): ``persist`` keeps the
    subtree of the action taken and the state reached as the next root (tree reuse;
    ``agent.stats["nodes_reused"]``), ``max_nodes`` caps the tree (default: 10 simulations'
    worth of nodes per simulation budget with ``persist``, one per simulation without).
    ``key="state"`` keeps per-state statistics (a transposition table, ``search.state_table``), with
    ``backup`` every-visit, ``"first"``-visit or ``"bellman"`` (MaxUCT / DP-UCT); ``persist`` then
    keeps the whole table; ``key="horizon"`` keys nodes by (steps left, state).
    ``evaluation`` values new leaves by a random rollout, ``"greedy-rollout"`` on ``q`` or the
    ``"value"`` function ``max q``.
    """

    name = "mcts"
    method = METHOD_MCTS
    extra: ClassVar[dict[str, Any]] = {
        "simulations": 200, "c": 1.0, "persist": True, "evaluation": "rollout", "key": "path", "backup": "every",
        "max_nodes": None, "model_steps": 0,
    }

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> dict[str, Any]:
        out = super().check_params(params)
        out["simulations"] = check_positive_count("simulations", out["simulations"])
        out["c"] = check_c(out["c"])
        out["persist"] = check_flag("persist", out["persist"])
        out["evaluation"] = check_choice("evaluation", out["evaluation"], tuple(EVALUATIONS))
        out["key"] = check_choice("key", out["key"], tuple(KEYS))
        out["backup"] = check_choice("backup", out["backup"], tuple(BACKUPS))
        if out["backup"] != "every" and out["key"] != "state":
            raise ParamError("backup", f"backup={out['backup']!r} needs key='state' (a tree has no transpositions)")
        out["model_steps"] = check_count("model_steps", out["model_steps"])
        if out["max_nodes"] is not None:
            out["max_nodes"] = check_positive_count("max_nodes", out["max_nodes"])
        return out

    @classmethod
    def build_state(
        cls, n_states: int, n_actions: int, model: TabularModel | None, params: Mapping[str, Any]
    ) -> NamedTuple:
        """A ``PathTreeAgentState`` (``key="path"``), else the state table's ``SearchAgentState``."""
        if params["key"] != "path":
            return super().build_state(n_states, n_actions, model, params)
        searched = searched_model(cls.name, n_states, n_actions, model, params)
        depth = params["depth"]
        cls.check_state_size(n_states, n_actions, params)
        capacity = cls.tree_capacity(params)
        i64 = np.int64
        return PathTreeAgentState(
            q=np.full((n_states, n_actions), params["q_init"]),
            model=searched,
            tree=new_path_tree(capacity, n_actions),
            root=new_root_stats(n_actions),
            counters=new_search_counters(),
            last=LastStep(np.zeros(1, dtype=i64), np.zeros(1, dtype=i64), np.zeros(1, dtype=i64)),
            path=np.zeros((2, depth), dtype=i64),
            path_rewards=np.zeros(depth),
            learned=params["model"] != "exact",
            learn=params["learn"],
            simulations=_simulations(params),
            max_steps=params["model_steps"],
            depth=depth,
            c=params["c"],
            gamma=params["gamma"],
            alpha=params["alpha"],
            epsilon=params["epsilon"],
            planning_steps=params["planning_steps"],
            evaluation=EVALUATIONS[params["evaluation"]],
            persist=params["persist"],
            write_back=params["write_back"],
        )

    @property
    def tree(self) -> Any:
        """The search statistics: a ``PathTree`` (``key="path"``) or a ``StateTable`` (kept across
        decisions when ``persist``)."""
        st: Any = self.state
        return st.tree if isinstance(st, PathTreeAgentState) else st.table

    def search(self, obs: int, *, simulations: int | None = None, seconds: float | None = None) -> SearchResult:
        """Search from ``obs`` into the agent's tree without acting (a budget in simulations or seconds).

        The tree is cleared first unless the agent persists it (a path tree is kept only if its
        root stands for ``obs``); ``q`` is not written back.
        """
        s = self.check_obs(obs)
        if simulations is not None:
            simulations = check_positive_count("simulations", simulations)
        st: Any = self.state
        if simulations is None and seconds is None and self.params.get("model_steps", 0) > 0:
            raise ValueError("this agent's budget is in model steps: give search() simulations or seconds")
        inv_eval = {v: k for k, v in EVALUATIONS.items()}
        common = dict(
            simulations=simulations or st.simulations, seconds=seconds, c=st.c, gamma=st.gamma, depth=st.depth,
            evaluation=inv_eval[st.evaluation], q=st.q, tree=self.tree, rng=self.rng,
        )
        if isinstance(st, PathTreeAgentState):
            if not st.persist:
                st.tree.size[0] = 0
            return mcts_search(st.model, s, key="path", **common)  # type: ignore[arg-type]
        if not st.persist:
            clear_table(st.table)
        inv_key = {v: k for k, v in KEYS.items()}
        backup = {v: k for k, v in BACKUPS.items()}[int(st.table.mode[0])]
        return mcts_search(st.model, s, key=inv_key[st.key], backup=backup, **common)  # type: ignore[arg-type]


class DynaMCTS(MCTS):
    """Dyna with search: Dyna-Q on a learned sample model, acting by MCTS over that model.

    ``MCTS`` with defaults ``model="sample", planning_steps=5, q_init=1.0, key="state"`` (any
    ``MCTS`` parameter works). The state-keyed table is its default because its statistics carry
    what searches of the learned model found across episodes, where a reused tree carries them
    only along the current episode (on the Dyna maze with 300 simulations: 16.0 steps per episode
    over the last 5 of 15 episodes with the table, 23.7 with the tree; 2 runs each).
    ``q_init = 1`` is optimistic for rewards in [0, 1]: an untried pair is worth ``q_init`` to
    the search, so the agent seeks the pairs it has not tried (with ``q_init = 0``
    and sparse rewards the search has nothing to go on and the first episode is a long walk).
    """

    name = "dyna-mcts"
    extra: ClassVar[dict[str, Any]] = {
        **MCTS.extra, "model": "sample", "planning_steps": 5, "q_init": 1.0, "key": "state",
    }


class RolloutPlanner(SearchAgent):
    """Acts by rollout planning (section 8.10): the best mean return of each action then the policy.

    ``RolloutPlanner(env_or_model, simulations=100, policy="random", depth=50, gamma=0.95,
    write_back=False, epsilon=0.0, model="exact", planning_steps=0, learn=False, seed=None)``;
    ``policy="greedy"`` rolls out the greedy policy of ``q``.
    """

    name = "rollout"
    method = METHOD_ROLLOUT
    extra: ClassVar[dict[str, Any]] = {"simulations": 100, "policy": "random"}

    @classmethod
    def check_params(cls, params: Mapping[str, Any]) -> dict[str, Any]:
        out = super().check_params(params)
        out["simulations"] = check_positive_count("simulations", out["simulations"])
        out["policy"] = check_choice("policy", out["policy"], ("random", "greedy"))
        return out


class Lookahead(SearchAgent):
    """Acts by heuristic search (section 8.9): depth-limited expected backups, ``max q`` at the leaves.

    ``Lookahead(env_or_model, depth=3, gamma=0.95, write_back=False, epsilon=0.0, model="exact",
    planning_steps=0, learn=False, seed=None)``; cost (A K)^depth outcomes per decision.
    """

    name = "lookahead"
    method = METHOD_LOOKAHEAD
    extra: ClassVar[dict[str, Any]] = {"depth": 3}
