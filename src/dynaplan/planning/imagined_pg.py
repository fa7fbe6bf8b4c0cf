"""Policy gradient in imagination: branched model rollouts feeding a softmax policy
(book sections 13.4 and 13.5; Sutton 1990's Dyna-PI; the tabular form of MBPO's branched
rollouts, Janner et al. 2019, "When to trust your model").

Real experience only teaches the model; the policy learns only from imagined experience, as in
MBPO and Dreamer. Each real step (s, a, r, s'):

1. the transition is counted in the learned ``DistributionModel`` (sections 8.1, 8.4);
2. ``rollouts`` imagined trajectories of at most ``horizon`` (k) steps are simulated: each
   starts at a state drawn uniformly from the states visited in real experience (the branch
   point), then follows the current softmax policy, drawing every outcome from the model with its
   estimated probability p_hat (a sample from the distribution model: on a deterministic world
   it is the last outcome seen, as Dyna-Q's sample model gives);
3. on each imagined trajectory S_0, A_0, R_1, ..., S_T, every step t gets the return

       G_t = R_{t+1} + gamma R_{t+2} + ... + gamma^{T-t-1} R_T + gamma^{T-t} v(S_T)

   (``v(S_T) = 0`` if the trajectory ended in a terminal outcome), and, from the last step back
   to the first, REINFORCE with the learned baseline v (section 13.4, eq. 13.11; the boxed
   "REINFORCE with baseline" algorithm):

       delta = G_t - v(S_t);  v(S_t) += alpha_critic delta;
       h(S_t, b) += alpha_actor delta (1{b = A_t} - pi(b | S_t))    for every action b.

   With a horizon at least as long as every episode the return is the full Monte Carlo return
   (REINFORCE with baseline); a shorter horizon bootstraps from the baseline at the branch's end
   (the n-step actor-critic of section 13.5), which is what keeps model rollouts short in MBPO.

``update = "natural"`` replaces step 3 by the natural-gradient actor-critic step at every state
of the branch (Kakade 2001; for the tabular softmax the natural gradient is the advantage): with
the distribution model's expected one-step values q_hat(s, b) = sum_k p_hat_k [rbar_k + gamma
v(s'_k)] of the known actions, v(s) moves toward v_pi(s) = sum_b pi(b | s) q_hat(s, b) and every
known preference by alpha_actor (q_hat(s, b) - v_pi(s)).

The real actions are drawn from the policy, except with probability ``epsilon`` uniformly (the
policy never learns from real transitions, so exploring off-policy biases nothing; it keeps the
model of rarely preferred actions from staying a handful of samples).

Choices the sources leave open, made here: branch points are drawn uniformly over distinct
visited states (as Dyna-Q draws states), not by visit frequency; the factor gamma^t of the
boxed algorithms is dropped (a branch has no episode time). **Known pairs**: a pair (s, a) is
known once it has been tried ``min_count`` times in the real world (R-max's known-state
threshold m, Brafman and Tennenholtz 2002; M2AC's rule of imagining only where the model is
trusted, Pan et al. 2020); when the policy picks an action that is not yet known, the branch
stops there and is bootstrapped from v at that state (nothing is imagined from a pair the model
knows too little about), and the natural step reads known actions only. The default,
``min_count = 1``, excludes exactly the untried pairs.

Why a threshold above 1 matters for the vanilla gradient (slippery FrozenLake,
docs/reproductions/policy-planning.md): the
vanilla update moves an action's preference in proportion to how often the policy picks it, so a
near-deterministic softmax policy is a sub-optimal "gravity well" it escapes slowly (Mei et al.
2020, "Escaping the gravitational pull of softmax"). With ``min_count = 1`` the policy commits,
within the first few thousand real steps, at the states next to the goal whose outcomes the
model has seen 5-15 times; when the model later corrects itself the better action has pi of
1e-3 to 1e-2 and the greedy policy stays wrong (17 of 100 runs still below 0.70 after 100,000
real steps). The natural step moves every known preference at full speed and recovers;
REINFORCE instead needs the model not to mislead it early, which the threshold provides.

Every imagined step is one model step and one actor-critic update (``updates``); under
``"natural"`` that update reads the outcomes of every known action of its state (an expected
update, section 8.5), so it costs up to A times as much.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from dynaplan._jit import kernel
from dynaplan.core.kernels import register_kernels
from dynaplan.models.distribution import DistributionModel, distribution_model_update, distribution_sample
from dynaplan.planning.certainty_equivalence import expected_backup
from dynaplan.planning.dyna_ac import actor_update, softmax_probs, softmax_sample
from dynaplan.rng import rand, randint

#: ``update`` codes held in the kernel state.
UPDATE_REINFORCE = 0
UPDATE_NATURAL = 1


class ImaginedPGState(NamedTuple):
    """Policy-gradient-in-imagination agent.

    Attributes:
      q: float64[S, A], the action preferences h(s, a) (named q, the field every agent's table
        has; the policy is their softmax, the greedy policy their argmax)
      v: float64[S], the learned baseline (and bootstrap at a branch's end)
      model: the learned ``DistributionModel``
      t: int64[1], real steps taken
      updates: int64[1], actor-critic updates made (direct and imagined)
      model_steps: int64[1], imagined transitions drawn from the model
      traj_s, traj_a: int64[k], states and actions of the current imagined trajectory
      traj_r: float64[k], its rewards
      scratch: float64[A], work row for softmax probabilities
      qbuf: float64[A], work row for the model's action values (``update = "natural"``)
      alpha_actor, alpha_critic, gamma: step sizes and discount
      rollouts: imagined trajectories per real step
      horizon: their maximum length k
      epsilon: real actions are uniform with this probability, else drawn from pi
      update: ``UPDATE_REINFORCE`` (0) or ``UPDATE_NATURAL`` (1)
      min_count: real samples after which a pair is known (used in imagination)
    """

    q: np.ndarray
    v: np.ndarray
    model: DistributionModel
    t: np.ndarray
    updates: np.ndarray
    model_steps: np.ndarray
    traj_s: np.ndarray
    traj_a: np.ndarray
    traj_r: np.ndarray
    scratch: np.ndarray
    qbuf: np.ndarray
    alpha_actor: float
    alpha_critic: float
    gamma: float
    rollouts: int
    horizon: int
    epsilon: float
    update: int
    min_count: int

    @property
    def h(self) -> np.ndarray:
        """The action preferences (the ``q`` field)."""
        return self.q


@kernel(inline=True)
def natural_update(agent: ImaginedPGState, s: int) -> None:
    """The natural-gradient actor-critic step at an imagined state, with the model's expected
    one-step action values (``update = "natural"``).

    q_hat(s, b) = sum_k p_hat_k [rbar_k + gamma v(s'_k)] for every known b (tried at least
    ``min_count`` times; ``s`` is on a branch, so it has one); v_pi(s) = their mean under pi
    (renormalised over known actions); the critic moves toward it and every known preference by
    alpha_actor (q_hat(s, b) - v_pi(s)): for the tabular softmax, the natural gradient (Kakade
    2001) is the advantage itself, so actions the policy has almost abandoned still move at full
    speed (the vanilla gradient moves them in proportion to pi).
    """
    model, h, v = agent.model, agent.q, agent.v
    softmax_probs(h[s], agent.scratch)
    n_tried = model.n_seen_actions[s]
    p_sum = 0.0
    v_pi = 0.0
    for i in range(n_tried):
        b = model.seen_actions[s, i]
        if model.total[s, b] < agent.min_count:
            continue
        x = expected_backup(model, v, s, b, agent.gamma)
        agent.qbuf[b] = x
        p_sum += agent.scratch[b]
        v_pi += agent.scratch[b] * x
    v_pi /= p_sum
    v[s] += agent.alpha_critic * (v_pi - v[s])
    for i in range(n_tried):
        b = model.seen_actions[s, i]
        if model.total[s, b] < agent.min_count:
            continue
        h[s, b] += agent.alpha_actor * (agent.qbuf[b] - v_pi)


@kernel
def imagine(agent: ImaginedPGState, n_rollouts: int, rng: np.ndarray) -> None:
    """``n_rollouts`` branched rollouts through the learned model, each followed by REINFORCE
    with baseline (bootstrapped at the horizon) on its steps, last step first."""
    model = agent.model
    if model.n_seen[0] == 0:
        return
    h, v = agent.q, agent.v
    for _ in range(n_rollouts):
        s = model.seen_states[randint(rng, model.n_seen[0])]
        n = 0
        ended = False
        while n < agent.horizon:
            a = softmax_sample(h[s], agent.scratch, rng)
            if model.total[s, a] < agent.min_count:
                break  # pair not yet known: stop the branch, bootstrap from v(s)
            s2, r, term = distribution_sample(model, s, a, rng)
            agent.traj_s[n] = s
            agent.traj_a[n] = a
            agent.traj_r[n] = r
            n += 1
            if term:
                ended = True
                break
            s = s2
        if agent.update == UPDATE_NATURAL:
            for i in range(n - 1, -1, -1):
                natural_update(agent, agent.traj_s[i])
        else:
            g = 0.0 if ended else v[s]
            for i in range(n - 1, -1, -1):
                g = agent.traj_r[i] + agent.gamma * g
                st = agent.traj_s[i]
                delta = g - v[st]
                v[st] += agent.alpha_critic * delta
                actor_update(h, st, agent.traj_a[i], agent.alpha_actor * delta, agent.scratch)
        agent.updates[0] += n
        agent.model_steps[0] += n


@kernel(inline=True)
def imagined_pg_act(agent: ImaginedPGState, s: int, rng: np.ndarray) -> int:
    if agent.epsilon > 0.0 and rand(rng) < agent.epsilon:
        return randint(rng, agent.q.shape[1])
    return softmax_sample(agent.q[s], agent.scratch, rng)


@kernel(inline=True)
def imagined_pg_observe(
    agent: ImaginedPGState, s: int, a: int, r: float, s2: int, terminated: bool, truncated: bool, rng: np.ndarray
) -> None:
    distribution_model_update(agent.model, s, a, r, s2, terminated)
    agent.t[0] += 1
    imagine(agent, agent.rollouts, rng)


register_kernels(ImaginedPGState, act=imagined_pg_act, observe=imagined_pg_observe)
