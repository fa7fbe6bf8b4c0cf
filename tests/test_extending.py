"""A user's own algorithm, written outside the package: one state, two kernels, one class.

This is the README's "add your own algorithm" example: Expected SARSA (section 6.6) on the
kernel protocol, run through the object API and the compiled runner, which must agree.
"""

from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np
from numba import njit

import dynaplan
from dynaplan import TabularAgent, problem_of, register_agent, register_kernels, run_agent
from dynaplan.agents.tabular import check_td_params, initial_q
from dynaplan.planning.egreedy import epsilon_greedy, max_value


class ExpectedSarsaState(NamedTuple):
    q: np.ndarray
    alpha: float
    gamma: float
    epsilon: float


@njit(cache=True)
def expected_sarsa_act(agent, s, rng):
    return epsilon_greedy(agent.q[s], agent.epsilon, rng)


@njit(cache=True)
def expected_sarsa_observe(agent, s, a, r, s2, terminated, truncated, rng):
    """Q(s,a) += alpha [r + gamma sum_a' pi(a'|s') Q(s',a') - Q(s,a)]  (eq. 6.9).

    Kernels run inside compiled loops without reference counting: plain loops, no new arrays.
    """
    target = r
    if not terminated:
        n = agent.q.shape[1]
        best = max_value(agent.q[s2])
        n_best = 0
        for b in range(n):
            n_best += agent.q[s2, b] == best
        expected = 0.0
        for b in range(n):
            p = agent.epsilon / n + ((1.0 - agent.epsilon) / n_best if agent.q[s2, b] == best else 0.0)
            expected += p * agent.q[s2, b]
        target += agent.gamma * expected
    agent.q[s, a] += agent.alpha * (target - agent.q[s, a])


register_kernels(ExpectedSarsaState, act=expected_sarsa_act, observe=expected_sarsa_observe)


@register_agent
class ExpectedSarsa(TabularAgent):
    name = "expected-sarsa"

    @classmethod
    def check_params(cls, params):
        return check_td_params(params, set())

    @classmethod
    def build_state(cls, n_states, n_actions, model, params) -> Any:
        return ExpectedSarsaState(
            initial_q(n_states, n_actions, params), params["alpha"], params["gamma"], params["epsilon"]
        )


def test_own_algorithm_runs_both_ways_identically():
    env = gym.make("CliffWalking-v1")
    agent = ExpectedSarsa(env, alpha=0.5, gamma=1.0, seed=4)
    steps = [agent.run_episode(env, seed=4)[0]] + [agent.run_episode(env)[0] for _ in range(49)]
    res = run_agent(ExpectedSarsa, {"alpha": 0.5, "gamma": 1.0}, problem_of("CliffWalking-v1"), 4, episodes=50)
    assert res.episode_steps.tolist() == steps
    assert np.array_equal(res.agent.q, agent.q)
    assert "expected-sarsa" in dynaplan.AGENTS


def test_own_kernels_are_folded_into_the_generic_cache_stamp():
    from dynaplan._cache import SOURCE_HASH
    from dynaplan.planning.loop import run_loop

    stamp = run_loop._cache._cache_file._source_stamp
    assert stamp != SOURCE_HASH  # this file's kernels are registered from outside the package
