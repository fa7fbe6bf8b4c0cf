"""Trajectory sampling (section 8.6, Figure 8.8) against exact solutions and the book's result."""

import numpy as np
import pandas as pd
import pytest

from dynaplan.envs.random_mdp import random_mdp_model
from dynaplan.planning.trajectory_sampling import evaluate_policy, run_trajectory_sampling
from dynaplan.planning.value_iteration import policy_evaluation, value_iteration
from dynaplan.rng import agent_stream


@pytest.mark.parametrize("b, seed", [(1, 0), (3, 1), (10, 2)])
def test_start_value_is_exact(b, seed):
    """The iterative solve equals a dense linear solve of the policy's system to 1e-9."""
    model = random_mdp_model(300, b, task_seed=seed)
    for k in range(3):
        policy = np.random.default_rng(k).integers(0, 2, 300)
        v = np.random.default_rng(k).standard_normal(300)  # any warm start
        value = evaluate_policy(model, policy, 1.0, v, 1e-10, 100_000)
        exact = policy_evaluation(model, policy, 1.0)[0]
        assert abs(value - exact) < 1e-9


@pytest.mark.parametrize("method", ["uniform", "on-policy"])
def test_converges_to_the_optimal_start_value(method):
    model = random_mdp_model(50, 3, task_seed=3)
    v_star = value_iteration(model, 1.0, tol=1e-12).v[0]
    values = run_trajectory_sampling(model, method, 20_000, 1000, agent_stream(0))
    assert abs(values[-1] - v_star) < 1e-8
    assert values[0] < v_star - 0.1  # it had something to learn


def _mean_curves(n_states, b, updates, tasks, points=50):
    out = {}
    for method in ("uniform", "on-policy"):
        runs = [
            run_trajectory_sampling(random_mdp_model(n_states, b, task_seed=t), method, updates, updates // points,
                                    agent_stream(t))
            for t in range(tasks)
        ]
        out[method] = np.array(runs)
    return out


def test_figure_8_8_on_policy_early_uniform_late():
    """On-policy is ahead early (after 0.2 sweeps' worth of updates: 400 updates for 1,000
    states) and behind at the end (10 sweeps), and its early lead, relative to the final
    value, is largest for b = 1 and for 10,000 states. 30 tasks per setting (the book: 200);
    differences are paired by task and required to exceed 3 standard errors."""
    settings = [(1000, 1, 20_000), (1000, 3, 20_000), (1000, 10, 20_000), (10_000, 1, 200_000)]
    lead = {}
    for n, b, updates in settings:
        curves = _mean_curves(n, b, updates, tasks=30)
        diff = curves["on-policy"] - curves["uniform"]  # [tasks, 51]
        se = diff.std(axis=0, ddof=1) / np.sqrt(diff.shape[0])
        early, late = 1, -1  # 0.2 sweeps, 10 sweeps
        assert diff[:, early].mean() > 3 * se[early], (n, b, "early")
        assert diff[:, late].mean() < -3 * se[late], (n, b, "late")
        lead[(n, b)] = diff[:, early].mean() / curves["uniform"][:, late].mean()
    assert lead[(1000, 1)] > lead[(1000, 3)] > lead[(1000, 10)]
    assert lead[(10_000, 1)] > lead[(1000, 1)]


def test_bad_method():
    with pytest.raises(ValueError, match="method"):
        run_trajectory_sampling(random_mdp_model(10, 1), "sweeping", 10, 1)


def test_reproduction_kind_never_beats_the_optimum():
    from dynaplan.experiments.reproductions.trajectory_sampling import check_cell, run_kind, summary

    frames = []
    for method in ("uniform", "on-policy"):
        cell = {"n_states": 100, "branching": 3, "method": method, "updates": 2000, "points": 10}
        frames.append(run_kind(cell, [11, 12, 13]))
    table = pd.concat(frames, ignore_index=True)
    for seed, f in table.groupby("seed"):
        v_star = value_iteration(random_mdp_model(100, 3, task_seed=int(seed)), 1.0, tol=1e-12).v[0]
        assert (f["value"] <= v_star + 1e-9).all()
        assert len(f) == 2 * 11
    assert summary(table)["tasks"].iloc[0] == 3
    with pytest.raises(ValueError, match=r"^points"):
        check_cell({"n_states": 10, "branching": 1, "method": "uniform", "updates": 100, "points": 7})
    with pytest.raises(ValueError, match=r"^branching"):
        check_cell({"n_states": 10, "branching": 11, "method": "uniform", "updates": 100})
