"""Dyna actor-critic: Dyna's architecture around a one-step actor-critic (book sections 8.2, 13.5).

The actor is a softmax policy over action preferences (eq. 13.2),

    pi(a | s) = exp(h(s, a)) / sum_b exp(h(s, b)),

and the critic a table of state values v(s). On a transition (s, a, r, s') both learn from the
TD error (section 13.5, the one-step actor-critic):

    delta   = r + gamma v(s') - v(s)                  (v(s') = 0 if s' is terminal)
    v(s)   += alpha_critic * delta
    h(s, b) += alpha_actor * delta * (1{b = a} - pi(b | s))     for every action b,

the last line being ``alpha_actor * delta * grad ln pi(a | s)`` for the tabular softmax
(eq. 13.9 with one-hot features). Each real step does this update on the real transition
(direct RL), records it in the learned sample model (section 8.2, step e), then makes
``planning_steps`` simulated transitions from the model, each updating actor and critic (the
actor exactly as above; the critic as below for pairs drawn as Dyna-Q draws them). With 0
planning steps it is plain one-step actor-critic; this is Sutton's (1990) Dyna-PI with an
actor-critic as the policy-iteration step.

Choices the sources leave open, made here:

* The book's boxed algorithm multiplies the step by I = gamma^t (time since the episode began);
  a simulated transition has no such time, so the factor is dropped for every update (real and
  simulated), as most implementations do.
* ``planning_actions = "tried"`` (default) draws a planning transition exactly as Dyna-Q does:
  a random previously observed state, then a random action previously taken in it. The actor
  then moves with that action's TD error as above, but the critic makes the *expected* update
  of v(s) under pi over the tried actions of s (renormalised; section 8.5): with the plain
  sampled critic update, v would estimate the value of choosing uniformly among tried actions,
  not v_pi (measured in the Dyna maze, n = 50, 50 episodes, alpha_actor = 0.1: the greedy
  policy was optimal in 7 of 30 runs with the sampled critic update, 25 of 30 with the expected
  one; with alpha_actor = 0.03, the default, in 97 of 100).
  ``"policy"`` draws the state the same way and the action from the current policy restricted
  to the tried actions of that state (renormalised): the plain on-policy update, unchanged.

Softmax evaluations subtract the row maximum before ``exp`` (no overflow however large the
preferences grow), use a scratch row in the state (no allocation inside the kernels), and take
``exp`` from ``dynaplan._exp.exp_nonpositive``: inline arithmetic within 2 ulp of libm's, which
LLVM vectorises over a row of actions where libm's ``exp`` is one opaque call per action.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from dynaplan._exp import exp_nonpositive
from dynaplan._jit import kernel
from dynaplan.core.kernels import register_kernels
from dynaplan.models.sample import SampleModel, sample_model_update, sample_observed_pair
from dynaplan.rng import rand, randint

#: ``planning_actions`` codes held in the kernel state.
PLAN_TRIED = 0
PLAN_POLICY = 1


@kernel(inline=True)
def softmax_sample(h_row: np.ndarray, scratch: np.ndarray, rng: np.ndarray) -> int:
    """An action drawn from softmax(h_row) with one uniform draw (inverse CDF, max subtracted).

    ``scratch``: float64[A], holds the unnormalised exponentials (each computed once).
    """
    n = h_row.shape[0]
    m = h_row[0]
    for b in range(1, n):
        m = max(m, h_row[b])
    for b in range(n):
        scratch[b] = exp_nonpositive(h_row[b] - m)
    total = 0.0
    for b in range(n):
        total += scratch[b]
    u = rand(rng) * total
    acc = 0.0
    for b in range(n):
        acc += scratch[b]
        if acc > u:
            return b
    return n - 1


@kernel(inline=True)
def softmax_probs(h_row: np.ndarray, out: np.ndarray) -> None:
    """``out[b] = pi(b)`` = softmax(h_row)[b], max subtracted (``out``: float64[A], preallocated).

    The exponentials are one loop of nothing but arithmetic (vectorised), the sum another.
    """
    n = h_row.shape[0]
    m = h_row[0]
    for b in range(1, n):
        m = max(m, h_row[b])
    for b in range(n):
        out[b] = exp_nonpositive(h_row[b] - m)
    total = 0.0
    for b in range(n):
        total += out[b]
    inv = 1.0 / total
    for b in range(n):
        out[b] *= inv


@kernel(inline=True)
def actor_update(h: np.ndarray, s: int, a: int, step: float, scratch: np.ndarray) -> None:
    """h(s, b) += step * (1{b = a} - pi(b | s)) for all b: ``step`` = alpha * delta (eq. 13.9)."""
    softmax_probs(h[s], scratch)
    for b in range(h.shape[1]):
        h[s, b] -= step * scratch[b]
    h[s, a] += step


@kernel(inline=True)
def actor_critic_update(
    h: np.ndarray,
    v: np.ndarray,
    s: int,
    a: int,
    r: float,
    s2: int,
    terminated: bool,
    alpha_actor: float,
    alpha_critic: float,
    gamma: float,
    scratch: np.ndarray,
) -> float:
    """One-step actor-critic update on (s, a, r, s') (section 13.5); returns the TD error."""
    target = r
    if not terminated:
        target += gamma * v[s2]
    delta = target - v[s]
    v[s] += alpha_critic * delta
    actor_update(h, s, a, alpha_actor * delta, scratch)
    return delta


class DynaACState(NamedTuple):
    """Dyna actor-critic agent.

    Attributes:
      q: float64[S, A], the actor's action preferences h(s, a) (named q, the field every agent's
        table has; they are not action values: the greedy policy is their argmax)
      v: float64[S], state values (the critic)
      model: the learned ``SampleModel``
      t: int64[1], real steps taken
      updates: int64[1], actor-critic updates made (direct and planning)
      scratch: float64[A], work row for softmax probabilities
      alpha_actor, alpha_critic, gamma: step sizes and discount
      planning_steps: planning updates per real step (n)
      planning_actions: ``PLAN_TRIED`` (0, as Dyna-Q) or ``PLAN_POLICY`` (1)
    """

    q: np.ndarray
    v: np.ndarray
    model: SampleModel
    t: np.ndarray
    updates: np.ndarray
    scratch: np.ndarray
    alpha_actor: float
    alpha_critic: float
    gamma: float
    planning_steps: int
    planning_actions: int

    @property
    def h(self) -> np.ndarray:
        """The action preferences (the ``q`` field)."""
        return self.q


@kernel(inline=True)
def policy_tried_action(h: np.ndarray, model: SampleModel, s: int, scratch: np.ndarray, rng: np.ndarray) -> int:
    """An action of state ``s`` drawn from pi(. | s) restricted to its tried actions (one draw)."""
    softmax_probs(h[s], scratch)
    n_tried = model.n_seen_actions[s]
    total = 0.0
    for i in range(n_tried):
        total += scratch[model.seen_actions[s, i]]
    u = rand(rng) * total
    acc = 0.0
    for i in range(n_tried):
        a = model.seen_actions[s, i]
        acc += scratch[a]
        if acc > u:
            return a
    return model.seen_actions[s, n_tried - 1]


@kernel(inline=True)
def tried_pair_update(
    h: np.ndarray,
    v: np.ndarray,
    model: SampleModel,
    s: int,
    a: int,
    alpha_actor: float,
    alpha_critic: float,
    gamma: float,
    scratch: np.ndarray,
) -> None:
    """Planning update on a pair drawn as Dyna-Q draws it (``planning_actions = "tried"``).

    The actor moves along ``delta_a (1{b = a} - pi(b | s))`` with the TD error of the drawn
    action; the critic makes the expected update of v(s) under pi over the tried actions of s
    (renormalised; section 8.5), so that it estimates v_pi although the action was drawn
    uniformly. The TD error is taken before the critic moves.
    """
    row = h[s]
    n_actions = row.shape[0]
    m = row[0]
    for b in range(1, n_actions):
        m = max(m, row[b])
    for b in range(n_actions):
        scratch[b] = exp_nonpositive(row[b] - m)  # unnormalised: pi(b | s) = scratch[b] / total
    # one pass over every action, branch-free: an untried action (next state -1) has weight 0
    total = 0.0
    e_tried = 0.0
    expected = 0.0
    for b in range(n_actions):
        e = scratch[b]
        nxt = model.next_state[s, b]
        x = model.reward[s, b] + (0.0 if model.terminated[s, b] else gamma * v[max(nxt, 0)])
        w = e if nxt >= 0 else 0.0
        total += e
        e_tried += w
        expected += w * x
    x_a = model.reward[s, a] + (0.0 if model.terminated[s, a] else gamma * v[model.next_state[s, a]])
    step = alpha_actor * (x_a - v[s])
    v[s] += alpha_critic * (expected / e_tried - v[s])
    step_inv = step / total
    for b in range(n_actions):
        row[b] -= step_inv * scratch[b]
    row[a] += step


@kernel
def dyna_ac_planning(
    h: np.ndarray,
    v: np.ndarray,
    model: SampleModel,
    n_updates: int,
    alpha_actor: float,
    alpha_critic: float,
    gamma: float,
    planning_actions: int,
    scratch: np.ndarray,
    rng: np.ndarray,
) -> None:
    """``n_updates`` actor-critic updates on transitions drawn from the learned model."""
    if model.n_seen[0] == 0:
        return
    for _ in range(n_updates):
        if planning_actions == PLAN_TRIED:
            s, a = sample_observed_pair(model, rng)
            tried_pair_update(h, v, model, s, a, alpha_actor, alpha_critic, gamma, scratch)
        else:
            s = model.seen_states[randint(rng, model.n_seen[0])]
            a = policy_tried_action(h, model, s, scratch, rng)
            actor_critic_update(
                h, v, s, a, model.reward[s, a], model.next_state[s, a], model.terminated[s, a],
                alpha_actor, alpha_critic, gamma, scratch,
            )


@kernel(inline=True)
def dyna_ac_act(agent: DynaACState, s: int, rng: np.ndarray) -> int:
    return softmax_sample(agent.q[s], agent.scratch, rng)


@kernel(inline=True)
def dyna_ac_observe(
    agent: DynaACState, s: int, a: int, r: float, s2: int, terminated: bool, truncated: bool, rng: np.ndarray
) -> None:
    actor_critic_update(
        agent.q, agent.v, s, a, r, s2, terminated, agent.alpha_actor, agent.alpha_critic, agent.gamma, agent.scratch
    )
    sample_model_update(agent.model, s, a, r, s2, terminated, agent.t[0])
    agent.t[0] += 1
    dyna_ac_planning(
        agent.q, agent.v, agent.model, agent.planning_steps, agent.alpha_actor, agent.alpha_critic, agent.gamma,
        agent.planning_actions, agent.scratch, rng,
    )
    agent.updates[0] += 1 + agent.planning_steps


register_kernels(DynaACState, act=dyna_ac_act, observe=dyna_ac_observe)
