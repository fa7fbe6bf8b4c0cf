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


def test_own_kernels_get_cache_files_of_their_own(tmp_path):
    """Kernels from outside the package never enter the cache index other processes read.

    (Numba unpickles an index's argument types before checking its stamp: a process that
    cannot import this test module would crash on it.)
    """
    import subprocess
    import sys

    from dynaplan._cache import SOURCE_HASH
    from dynaplan.planning.loop import run_loop

    cache_file = run_loop._cache._cache_file
    assert cache_file._source_stamp != SOURCE_HASH
    assert "-x" in cache_file._index_path
    run_agent(ExpectedSarsa, {}, problem_of("CliffWalking-v1"), 0, episodes=2)  # saved under its own name
    code = (
        "import dynaplan; p = dynaplan.problem_of('dynaplan/DynaMaze-v0');"
        "print(dynaplan.run_agent(dynaplan.DynaQ, {}, p, 0, episodes=2).total_steps)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
