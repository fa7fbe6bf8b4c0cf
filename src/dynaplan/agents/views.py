"""What a viewer or a reproduction may read of an agent: small typed records, never kernel internals.

``agent.view()`` (or ``view_of(state)`` for a kernel state run by the compiled runner) returns an
``AgentView``: a copy of the values (Q, and from it V and the greedy policy), the counts the
agent keeps (real steps, planning updates, max-Q computations), the pairs its learned model
knows, its priority queue (``QueueView``) and its last search (``SearchView``), each ``None``
where the agent has no such thing. The explorer (``explore.session``) and the reproductions read
these records; how a kernel lays out its state is its own business and may change.

A kernel state type gets its view from a function registered with ``register_view(State)``; the
shipped planners are registered here. A state with no registered view (a user's agent) is seen
through its ``q`` and, if it has a ``model`` of a registered model type, the pairs that model
knows (``model_known`` of the model protocol).

``Probed`` gives the planners with a ``probe`` field (``planning.probe``) ``attach_probe``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeVar

import numpy as np

from dynaplan._jit import kernel
from dynaplan._stamp import generic
from dynaplan.envs.tabular import TabularModel
from dynaplan.models.protocol import kernels_of, model_known, model_sizes
from dynaplan.planning.certainty_equivalence import CertaintyEquivalenceState
from dynaplan.planning.dyna_ac import DynaACState
from dynaplan.planning.dyna_q import DynaQState
from dynaplan.planning.dyna_q_plus import DynaQPlusState
from dynaplan.planning.imagined_pg import ImaginedPGState
from dynaplan.planning.pqueue import PairQueue
from dynaplan.planning.prioritized_sweeping import PrioritizedSweepingState, StochasticPSState
from dynaplan.planning.probe import PlanningProbe, with_probe
from dynaplan.planning.q_planning import ExactQPlanningState, QPlanningState
from dynaplan.search.dyna2 import Dyna2State
from dynaplan.search.searchers import METHOD_MCTS, METHOD_ROLLOUT, PathTreeAgentState, SearchAgentState

__all__ = [
    "QUEUE_TOP",
    "AgentView",
    "Probed",
    "QueueView",
    "SearchView",
    "known_pairs",
    "register_view",
    "view_of",
]

QUEUE_TOP = 8
"""Pairs of highest priority a ``QueueView`` lists."""


@dataclass(frozen=True)
class QueueView:
    """A priority queue of state-action pairs (prioritized sweeping, section 8.4).

    Attributes:
      size: pairs queued
      top: the ``QUEUE_TOP`` (at most) pairs of highest priority, highest first, as
        ``(s * A + a, priority)``; equal priorities in heap order
    """

    size: int
    top: tuple[tuple[int, float], ...]


@dataclass(frozen=True)
class SearchView:
    """What a searching agent counted and its last search (sections 8.8 to 8.11).

    Attributes:
      method: ``"path-tree"`` or ``"state-table"`` (MCTS), ``"rollout"``, ``"lookahead"`` or
        ``"dyna-2"`` (its transient memory's search; no root statistics)
      decisions, simulations, model_steps, real_steps: counted since the agent was built
        (``search.result.SearchCounters``)
      nodes_reused: path-tree nodes kept from one decision to the next (0 without reuse)
      root_state: the state of the last search (-1: none yet)
      root_visits: float64[A], simulations per root action in the last search
      root_values: float64[A], the root's value estimates (NaN: no simulation)
      reused_share: share of the root's visits after the last search that it had before it
        (statistics kept from earlier decisions: tree reuse, a persistent table); 0 when fresh
      nodes: nodes in the path tree, or states in the table, after the last search (0 for
        lookahead and rollouts)
    """

    method: str
    decisions: int
    simulations: int
    model_steps: int
    real_steps: int
    nodes_reused: int
    root_state: int
    root_visits: np.ndarray
    root_values: np.ndarray
    reused_share: float
    nodes: int


@dataclass(frozen=True)
class AgentView:
    """A copy of what an agent shows (S states, A actions).

    Attributes:
      q: float64[S, A], the values it acts on (policy agents: the preferences)
      real_steps: real steps observed (None: not counted by the agent)
      planning_updates: planning updates made so far (None: not counted by the agent). Dyna-Q,
        Q-planning, Dyna-Q+ and the searching agents' background planning: ``planning_steps``
        per real step; prioritized sweeping: the updates it made; the policy agents: their
        ``updates`` (direct and planning); certainty equivalence: its expected backups
      max_q: maxima over a row of Q computed (prioritized sweeping; Dyna-Q with a probe)
      tried: bool[S, A], the pairs a learned model knows (None: an exact model or none)
      queue: the priority queue (prioritized sweeping), else None
      search: the searches (searching agents), else None
    """

    q: np.ndarray
    real_steps: int | None = None
    planning_updates: int | None = None
    max_q: int | None = None
    tried: np.ndarray | None = None
    queue: QueueView | None = None
    search: SearchView | None = None

    @property
    def v(self) -> np.ndarray:
        """float64[S], ``max_a q[s, a]``."""
        return self.q.max(axis=1)  # type: ignore[no-any-return]

    @property
    def policy(self) -> np.ndarray:
        """int64[S], the greedy action (the first maximiser); -1 where every action has the same value."""
        q = self.q
        return np.where(q.max(axis=1) > q.min(axis=1), q.argmax(axis=1), -1).astype(np.int64)


S = TypeVar("S")
VIEWS: dict[type, Callable[[Any], AgentView]] = {}


def register_view(state_type: type) -> Callable[[Callable[[S], AgentView]], Callable[[S], AgentView]]:
    """Register the view of a kernel state type (a decorator on ``fn(state) -> AgentView``)."""

    def wrap(fn: Callable[[S], AgentView]) -> Callable[[S], AgentView]:
        VIEWS[state_type] = fn
        return fn

    return wrap


def view_of(state: Any) -> AgentView:
    """The view of a kernel state: its registered view, else ``q`` and the pairs its model knows."""
    fn = VIEWS.get(type(state))
    if fn is not None:
        return fn(state)
    return AgentView(q=np.array(state.q), tried=known_pairs(getattr(state, "model", None)))


@generic
@kernel
def _known_mask(model: Any, out: np.ndarray) -> None:
    for s in range(out.shape[0]):
        for a in range(out.shape[1]):
            out[s, a] = model_known(model, s, a)


def known_pairs(model: Any) -> np.ndarray | None:
    """bool[S, A], the pairs a learned model knows (``model_known``); None for an exact model or none."""
    if model is None or isinstance(model, TabularModel) or kernels_of(model) is None:
        return None
    n_states, n_actions = model_sizes(model)
    out = np.zeros((n_states, n_actions), dtype=np.bool_)
    _known_mask(model, out)
    return out


def _queue(pq: PairQueue) -> QueueView:
    n = int(pq.size[0])
    order = np.argsort(-pq.prio[:n], kind="stable")[:QUEUE_TOP]
    return QueueView(n, tuple((int(pq.heap[i]), float(pq.prio[i])) for i in order))


def _probe_maxima(probe: PlanningProbe | None) -> int | None:
    return None if probe is None else int(probe.maxima[0])


@register_view(DynaQState)
def _dyna_q_view(st: DynaQState) -> AgentView:
    t = int(st.t[0])
    return AgentView(np.array(st.q), t, st.planning_steps * t, _probe_maxima(st.probe), known_pairs(st.model))


@register_view(QPlanningState)
@register_view(DynaQPlusState)
def _sample_planner_view(st: Any) -> AgentView:
    t = int(st.t[0])
    return AgentView(np.array(st.q), t, st.planning_steps * t, None, known_pairs(st.model))


@register_view(ExactQPlanningState)
def _exact_q_planning_view(st: ExactQPlanningState) -> AgentView:
    return AgentView(np.array(st.q))


@register_view(PrioritizedSweepingState)
@register_view(StochasticPSState)
def _ps_view(st: Any) -> AgentView:
    return AgentView(
        np.array(st.q), int(st.t[0]), int(st.updates[0]), int(st.max_q[0]), known_pairs(st.model), _queue(st.queue)
    )


@register_view(DynaACState)
@register_view(ImaginedPGState)
def _policy_view(st: Any) -> AgentView:
    return AgentView(np.array(st.q), int(st.t[0]), int(st.updates[0]), None, known_pairs(st.model))


@register_view(CertaintyEquivalenceState)
def _ce_view(st: CertaintyEquivalenceState) -> AgentView:
    return AgentView(np.array(st.q), int(st.t[0]), int(st.backups[0]), None, known_pairs(st.model))


def _search(st: Any, method: str, nodes: int) -> SearchView:
    c, root = st.counters, st.root
    after = float(root.visits[0])
    return SearchView(
        method=method, decisions=int(c.decisions[0]), simulations=int(c.simulations[0]),
        model_steps=int(c.model_steps[0]), real_steps=int(c.real_steps[0]), nodes_reused=int(c.nodes_reused[0]),
        root_state=int(root.state[0]),
        root_visits=root.n.copy(), root_values=root.q.copy(),
        reused_share=float(root.visits_before[0]) / after if after > 0 else 0.0, nodes=nodes,
    )


@register_view(SearchAgentState)
def _search_view(st: SearchAgentState) -> AgentView:
    mcts = st.method == METHOD_MCTS
    nodes = int((st.table.visits > 0).sum()) if mcts else 0
    method = "state-table" if mcts else ("rollout" if st.method == METHOD_ROLLOUT else "lookahead")
    real = int(st.counters.real_steps[0])
    return AgentView(
        np.array(st.q), real, st.planning_steps * real, None, known_pairs(st.model), None, _search(st, method, nodes)
    )


@register_view(PathTreeAgentState)
def _path_tree_view(st: PathTreeAgentState) -> AgentView:
    real = int(st.counters.real_steps[0])
    return AgentView(
        np.array(st.q), real, st.planning_steps * real, None, known_pairs(st.model), None,
        _search(st, "path-tree", int(st.tree.size[0])),
    )


@register_view(Dyna2State)
def _dyna2_view(st: Dyna2State) -> AgentView:
    c = st.counters
    nan = np.full(st.q.shape[1], np.nan)
    search = SearchView(
        "dyna-2", int(c.decisions[0]), int(c.simulations[0]), int(c.model_steps[0]), int(c.real_steps[0]), 0, -1,
        np.zeros(st.q.shape[1]), nan, 0.0, 0,
    )
    return AgentView(np.array(st.q), int(c.real_steps[0]), None, None, known_pairs(st.model), None, search)


class Probed:
    """An agent whose planner may carry a probe of the pairs planning updates (``planning.probe``)."""

    state: NamedTuple

    def attach_probe(self, capacity: int) -> PlanningProbe | None:
        """Give the planner a fresh probe keeping at most ``capacity`` pairs between takes (read them
        with ``planning.probe.probe_take``); None if this agent's planner has no probe (e.g. an exact
        or distribution model). The kernels compiled with a probe are separate from those without."""
        if "probe" not in self.state._fields:
            return None
        self.state = with_probe(self.state, capacity)
        return self.state.probe  # type: ignore[attr-defined, no-any-return]
