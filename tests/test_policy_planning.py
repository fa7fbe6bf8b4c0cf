"""Policy-optimising planners: Dyna-AC, policy gradient in imagination, certainty equivalence.

Ground truth: the Dyna maze's exact model (v*(start) = 0.95^13), slippery FrozenLake's exact
model (the best success rate within its 100-step limit, by backward induction: 0.744), value
iteration on the agent's own learned model, and numpy's softmax.
"""

import gymnasium as gym
import numpy as np
import pytest

from conftest import object_api_run
from dynaplan import (
    CertaintyEquivalence,
    DynaAC,
    ImaginedPolicyGradient,
    policy_evaluation,
    problem_of,
    run_agent,
    run_seeds,
    value_iteration,
)
from dynaplan.planning.dyna_ac import softmax_probs, softmax_sample

CASES = [
    ("dynaplan/DynaMaze-v0", {}, DynaAC, {"planning_steps": 5}),
    ("dynaplan/DynaMaze-v0", {}, DynaAC, {"planning_steps": 10, "planning_actions": "policy", "alpha_actor": 0.5}),
    ("dynaplan/DynaMaze-v0", {}, ImaginedPolicyGradient, {"rollouts": 3, "horizon": 4}),
    ("dynaplan/DynaMaze-v0", {}, CertaintyEquivalence, {"solve_every": 3}),
    ("FrozenLake-v1", {"is_slippery": True}, DynaAC, {"planning_steps": 3, "gamma": 0.99}),
    ("FrozenLake-v1", {"is_slippery": True}, ImaginedPolicyGradient, {"rollouts": 2, "horizon": 5, "epsilon": 0.3}),
    ("FrozenLake-v1", {"is_slippery": True}, ImaginedPolicyGradient, {"rollouts": 3, "update": "natural"}),
    ("FrozenLake-v1", {"is_slippery": True}, ImaginedPolicyGradient, {"rollouts": 3, "min_count": 4, "epsilon": 0.5}),
    ("FrozenLake-v1", {"is_slippery": True}, ImaginedPolicyGradient,
     {"rollouts": 3, "min_count": 4, "update": "natural"}),
    ("FrozenLake-v1", {"is_slippery": True}, CertaintyEquivalence, {"gamma": 0.99, "epsilon": 0.2}),
]


def _arrays(state):
    for x in state:
        if isinstance(x, tuple):
            yield from _arrays(x)
        elif isinstance(x, np.ndarray):
            yield x


@pytest.mark.parametrize(("env_id", "env_kwargs", "cls", "params"), CASES)
def test_object_api_equals_compiled_runner(env_id, env_kwargs, cls, params):
    for seed in (0, 17):
        env = gym.make(env_id, **env_kwargs)
        agent, steps, returns = object_api_run(env, cls, params, seed, 6)
        res = run_agent(cls, params, problem_of(env_id, **env_kwargs), seed, episodes=6)
        assert np.array_equal(res.episode_steps, steps)
        assert np.array_equal(res.episode_returns, returns)
        assert np.array_equal(res.agent.q, agent.q)
        for a, b in zip(_arrays(res.agent), _arrays(agent.state), strict=True):
            assert np.array_equal(a, b)


def test_softmax_is_stable_and_exact():
    h = np.array([1e6, 1e6 - 1.0, -1e6, 3.0])
    out = np.zeros(4)
    softmax_probs(h, out)
    e = np.exp(h - h.max())
    assert np.allclose(out, e / e.sum(), rtol=0, atol=1e-15)
    # sampling frequencies over 40,000 draws match pi within 5 standard errors
    h = np.array([0.5, -1.0, 2.0, 0.0])
    p = np.exp(h) / np.exp(h).sum()
    rng = np.array([1, 2, 3, 5], dtype=np.uint64)
    scratch = np.zeros(4)
    counts = np.bincount([softmax_sample(h, scratch, rng) for _ in range(40_000)], minlength=4)
    assert np.all(np.abs(counts / 40_000 - p) < 5 * np.sqrt(p * (1 - p) / 40_000))


def test_updates_are_counted_honestly():
    problem = problem_of("dynaplan/DynaMaze-v0")
    res = run_agent(DynaAC, {"planning_steps": 7}, problem, 3, episodes=3)
    assert res.agent.updates[0] == res.total_steps * 8
    res = run_agent(ImaginedPolicyGradient, {"rollouts": 4, "horizon": 6}, problem, 3, episodes=3)
    assert 0 < res.agent.model_steps[0] <= res.total_steps * 24
    assert res.agent.updates[0] == res.agent.model_steps[0]


def test_certainty_equivalence_values_equal_value_iteration_on_the_learned_model():
    for env_id, kwargs, gamma in (("dynaplan/DynaMaze-v0", {}, 0.95), ("FrozenLake-v1", {"is_slippery": True}, 0.99)):
        res = run_agent(CertaintyEquivalence, {"gamma": gamma, "solve_every": 1}, problem_of(env_id, **kwargs), 1,
                        steps=1500)
        sol = value_iteration(res.agent.model, gamma, tol=1e-13)
        assert res.agent.solves[0] == 1500
        assert np.max(np.abs(res.agent.v - sol.v)) < 1e-9
        assert np.max(np.abs(res.agent.q - sol.q)) < 1e-9
        assert res.agent.backups[0] == res.agent.sweeps[0] * problem_of(env_id, **kwargs).n_states


def test_dyna_ac_greedy_policy_is_optimal_in_the_dyna_maze():
    problem = problem_of("dynaplan/DynaMaze-v0")
    start = int(np.argmax(problem.model.start))
    v_star = value_iteration(problem.model, 0.95).v[start]
    assert abs(v_star - 0.95**13) < 1e-12
    seeds = run_seeds(0, 40)
    optimal = 0
    for seed in seeds:
        res = run_agent(DynaAC, {"planning_steps": 50}, problem, int(seed), episodes=50)
        v = policy_evaluation(problem.model, np.argmax(res.agent.h, axis=1), 0.95)[start]
        optimal += abs(v - v_star) < 1e-9
    assert optimal >= 0.95 * len(seeds)


def test_dyna_ac_more_planning_fewer_real_steps():
    """Mean steps in episodes 2-10 fall from n = 0 to 5 to 50; 95% intervals of 0 and 50 apart."""
    problem = problem_of("dynaplan/DynaMaze-v0")
    seeds = run_seeds(1, 20)
    stats = []
    for n in (0, 5, 50):
        runs = [run_agent(DynaAC, {"planning_steps": n}, problem, int(s), episodes=10) for s in seeds]
        per_run = np.array([res.episode_steps[1:].mean() for res in runs])
        stats.append((per_run.mean(), 1.96 * per_run.std(ddof=1) / np.sqrt(len(seeds))))
    (m0, h0), (m5, _), (m50, h50) = stats
    assert m0 > m5 > m50
    assert m0 - h0 > m50 + h50


def _frozen_lake_success(model, policy, horizon=100):
    """Probability that ``policy`` reaches the goal within ``horizon`` steps (exact, backward induction)."""
    pol = np.asarray(policy)
    idx = np.arange(model.n_states)
    p, nxt = model.prob[idx, pol], model.next_state[idx, pol]
    term, rew = model.terminated[idx, pol], model.reward[idx, pol]
    v = np.zeros(model.n_states)
    for _ in range(horizon):
        v = (p * (rew + np.where(term, 0.0, v[nxt]))).sum(axis=1)
    return float(v @ model.start)


def _frozen_lake_optimum(model, horizon=100):
    v = np.zeros(model.n_states)
    for _ in range(horizon):
        v = (model.prob * (model.reward + np.where(model.terminated, 0.0, v[model.next_state]))).sum(axis=2).max(axis=1)
    return float(v @ model.start)


def test_certainty_equivalence_is_near_optimal_on_slippery_frozen_lake():
    problem = problem_of("FrozenLake-v1", is_slippery=True)
    optimum = _frozen_lake_optimum(problem.model)
    assert abs(optimum - 0.744) < 5e-4
    rates = [
        _frozen_lake_success(problem.model, np.argmax(res.agent.q, axis=1))
        for res in (run_agent(CertaintyEquivalence, {"gamma": 0.999, "solve_every": 50}, problem, int(s), steps=30_000)
                    for s in run_seeds(2, 20))
    ]
    assert np.mean(rates) >= optimum - 0.03


def _pg_success_rates(problem, params, root, runs):
    return [
        _frozen_lake_success(problem.model, np.argmax(res.agent.h, axis=1))
        for res in (run_agent(ImaginedPolicyGradient, params, problem, int(s), steps=30_000)
                    for s in run_seeds(root, runs))
    ]


def test_imagined_natural_policy_gradient_is_near_optimal_on_slippery_frozen_lake():
    problem = problem_of("FrozenLake-v1", is_slippery=True)
    params = {"gamma": 0.999, "rollouts": 10, "horizon": 3, "alpha_actor": 1.0, "alpha_critic": 0.5,
              "epsilon": 0.1, "update": "natural"}
    assert np.mean(_pg_success_rates(problem, params, 3, 20)) >= _frozen_lake_optimum(problem.model) - 0.03


def test_imagined_reinforce_is_near_optimal_on_slippery_frozen_lake():
    """REINFORCE with baseline in imagination, pairs known after 30 real samples (``min_count``).

    The configuration was chosen on run_seeds(100, 40) (0.737 +- 0.007) and confirmed on
    run_seeds(200, 100) (0.732 +- 0.006); these runs use a third root. Without the threshold the
    same agent reaches 0.692 +- 0.016 on the confirmation seeds (docs/reproductions/policy-planning.md).
    """
    problem = problem_of("FrozenLake-v1", is_slippery=True)
    params = {"gamma": 0.999, "rollouts": 10, "horizon": 3, "alpha_actor": 0.1, "alpha_critic": 0.1, "epsilon": 0.5,
              "min_count": 30}
    rates = np.array(_pg_success_rates(problem, params, 3, 30))
    assert np.mean(rates) >= _frozen_lake_optimum(problem.model) - 0.03


def test_imagination_uses_only_known_pairs():
    """A pair tried fewer than ``min_count`` times is never imagined: a state none of whose actions
    is known keeps its initial preferences and baseline, and under the natural step (which moves
    only the preferences of the known actions it reads) so does every pair below the threshold.
    (v_init = 1 makes every imagined step move the actor, goal seen or not.)"""
    problem = problem_of("FrozenLake-v1", is_slippery=True)
    for update in ("reinforce", "natural"):
        params = {"rollouts": 5, "min_count": 40, "epsilon": 0.5, "v_init": 1.0, "update": update}
        res = run_agent(ImaginedPolicyGradient, params, problem, 11, steps=3000)
        total = res.agent.model.total
        unknown = (total < 40).all(axis=1)
        assert (unknown & (total.sum(axis=1) > 0)).any() and (~unknown).any()
        assert np.all(res.agent.h[unknown] == 0.0) and np.all(res.agent.v[unknown] == 1.0)
        assert res.agent.model_steps[0] > 0
        if update == "reinforce":
            assert np.all(res.agent.h[~unknown] != 0.0)
        else:  # with one known action its advantage is 0: the states with two or more move
            assert np.all(res.agent.h[total < 40] == 0.0) and (total[~unknown] < 40).any()
            assert np.any(res.agent.h[(total >= 40).sum(axis=1) >= 2] != 0.0, axis=1).all()
    # above every count reached: nothing is imagined
    res = run_agent(ImaginedPolicyGradient, {"min_count": 10**6, "v_init": 1.0}, problem, 11, steps=500)
    assert res.agent.model_steps[0] == 0 and np.all(res.agent.h == 0.0) and np.all(res.agent.v == 1.0)


@pytest.mark.parametrize(
    ("cls", "params", "message"),
    [
        (DynaAC, {"alpha_actor": 0}, "alpha_actor"),
        (DynaAC, {"planning_actions": "all"}, "planning_actions"),
        (DynaAC, {"epsilon": 0.1}, "epsilon"),
        (ImaginedPolicyGradient, {"horizon": 0}, "horizon"),
        (ImaginedPolicyGradient, {"alpha_critic": 2}, "alpha_critic"),
        (ImaginedPolicyGradient, {"min_count": 0}, "min_count"),
        (CertaintyEquivalence, {"solve_every": 0}, "solve_every"),
        (CertaintyEquivalence, {"tol": -1}, "tol"),
    ],
)
def test_bad_parameters_name_themselves(cls, params, message):
    with pytest.raises(ValueError, match=message):
        cls.check_params(params)


def test_policy_planning_reproduction_table_summary_figure(tmp_path):
    from dynaplan.experiments.reproductions import load_all

    rep = load_all()["policy-planning"]
    table = rep.run(runs=2, episodes=4, steps=400, record_every=10, planning=[0, 5])
    maze = table[table.experiment == "dyna-maze"]
    assert set(maze.agent) == {"dyna-q", "dyna-ac", "dyna-pg", "dyna-pg-natural"}
    assert maze.groupby(["agent", "planning", "seed"]).size().eq(4).all()
    short = table[table.experiment == "shortcut-maze"]
    assert short.groupby(["agent", "planning", "seed"]).size().eq(40).all()
    # computation: Dyna-Q and Dyna-AC n + 1 updates per real step, Dyna-PG at most n model steps
    per_run = table.groupby(["agent", "planning", "seed"])["updates_per_step"].first().reset_index()
    for agent in ("dyna-q", "dyna-ac"):
        r = per_run[per_run.agent == agent]
        assert np.array_equal(r.updates_per_step.to_numpy(), r.planning.to_numpy() + 1.0)
    pg = per_run[per_run.agent.str.startswith("dyna-pg")]
    assert (pg.updates_per_step <= pg.planning).all() and (pg[pg.planning == 0].updates_per_step == 0).all()
    s = rep.summary(table)
    assert len(s) == 16 and (s.runs == 2).all()
    assert rep.figure(table, tmp_path / "f.png").stat().st_size > 10_000


def test_policy_planning_spec_errors_name_the_key():
    from dynaplan.experiments.reproductions.policy_planning import check_policy_planning

    cell = {"experiment": "dyna-maze", "env": "dynaplan/DynaMaze-v0", "episodes": 5, "agent": "dyna-pg",
            "planning": 7, "horizon": 5}
    with pytest.raises(ValueError, match=r"^planning must be a multiple of horizon"):
        check_policy_planning(cell)
    with pytest.raises(ValueError, match=r"^alpah: unknown key"):
        check_policy_planning({**cell, "planning": 5, "alpah": 1})
    with pytest.raises(ValueError, match=r"^alpha_actor"):
        check_policy_planning({**cell, "planning": 5, "alpha_actor": -1})


@pytest.mark.parametrize(
    ("agent", "params", "key"),
    [("dyna-ac", {"alpha_critic": 0}, "alpha_critic"), ("dyna-pg", {"update": "x"}, "update"),
     ("dyna-pg", {"rollout": 3}, "rollout"), ("ce-planning", {"max_sweeps": 0}, "max_sweeps")],
)
def test_bad_parameters_raise_param_error_with_the_key(agent, params, key):
    from dynaplan.agents import AGENTS
    from dynaplan.agents.base import ParamError

    with pytest.raises(ParamError) as info:
        AGENTS[agent].check_params(params)
    assert info.value.key == key and key in str(info.value)
