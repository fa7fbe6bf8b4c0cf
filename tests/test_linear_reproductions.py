"""The linear reproductions' kinds and specs (small slices)."""

from __future__ import annotations

import numpy as np
import pytest

from dynaplan.experiments.reproductions import load_all
from dynaplan.experiments.reproductions.mountain_car import check_cell


def test_boyan_chain_reproduction_slice() -> None:
    rep = load_all()["boyan-chain"]
    table = rep.run(runs=3, episodes=30)
    assert set(table["method"]) == {"TD(0)", "linear Dyna (n = 10)", "linear PS (n = 10)", "LSTD"}
    assert len(table) == 4 * 3 * 30
    last = table[table.episode == 30].groupby("method")["rms"].mean()
    # the model-based estimates are far closer to V(s) = -2s than TD(0) after 30 episodes
    for m in ("linear Dyna (n = 10)", "linear PS (n = 10)", "LSTD"):
        assert last[m] < 0.5 * last["TD(0)"], last
    s = rep.summary(table)
    assert list(s["runs"]) == [3, 3, 3, 3]


def test_mountain_car_reproduction_slice_matches_direct_runs() -> None:
    from dynaplan.agents.linear import Sarsa
    from dynaplan.experiments.batch import linear_problem_of, run_linear_agent
    from dynaplan.features import TileCoder
    from dynaplan.rng import run_seeds

    rep = load_all()["mountain-car"]
    table = rep.run(runs=2, episodes=3)
    assert len(table) == 3 * 2 * 3 and not table["capped"].any()
    feats = TileCoder([-1.2, -0.07], [0.5, 0.07], tilings=8, tiles_per_dim=8, size=1024)
    problem = linear_problem_of("MountainCar-v0", feats, max_episode_steps=100000)
    problem = problem._replace(world=problem.world._replace(float32_obs=False))  # the spec's float32_obs = false
    seed = int(run_seeds(0, 2)[1])
    direct = run_linear_agent(Sarsa, dict(alpha=0.0625, epsilon=0.0, gamma=1.0, q_init=0.0), problem, seed,
                              episodes=3)
    got = table[(table.method == "alpha = 0.5/8") & (table.seed == seed)].sort_values("episode")["steps"]
    assert np.array_equal(got.to_numpy(), direct.episode_steps)


@pytest.mark.parametrize(
    ("cell", "key"),
    [
        ({"agent": "nope", "env": "MountainCar-v0", "episodes": 3}, "agent"),
        ({"agent": "sarsa", "env": "Pendulum-v1", "episodes": 3}, "env"),
        ({"agent": "sarsa", "env": "MountainCar-v0", "episodes": 0}, "episodes"),
        ({"agent": "sarsa", "env": "MountainCar-v0", "episodes": 3, "alpha": 2}, "alpha"),
        ({"agent": "sarsa", "env": "MountainCar-v0", "episodes": 3, "lam": 0.5}, "unknown parameter"),
        ({"agent": "sarsa", "env": "MountainCar-v0", "episodes": 3, "float32_obs": 1}, "float32_obs"),
        ({"agent": "sarsa", "env": "CartPole-v1", "episodes": 3, "float32_obs": False}, "float32_obs"),
    ],
)
def test_linear_episodes_cells_are_validated(cell: dict, key: str) -> None:
    with pytest.raises(ValueError, match=f"^{key}"):
        check_cell(cell)


def test_grouped_summary_keeps_a_cell_without_the_varied_key() -> None:
    # mountain-car-planning: Sarsa(lambda) has no planning_steps; its row must not be dropped.
    import pandas as pd

    from dynaplan.experiments.reproductions.mountain_car import summary
    from dynaplan.experiments.summaries import grouped_summary

    rows = []
    for method, n in (("Sarsa(lambda)", np.nan), ("PS, n = 0", 0.0), ("PS, n = 5", 5.0)):
        for seed in (1, 2):
            for ep in (1, 2):
                rows.append(dict(method=method, planning_steps=n, seed=seed, episode=ep, steps=100 * ep + seed,
                                 capped=False, updates=10, real_steps=10, seconds=0.001))
    out = grouped_summary(summary, pd.DataFrame(rows), ["planning_steps"])
    assert sorted(out["method"]) == ["PS, n = 0", "PS, n = 5", "Sarsa(lambda)"]
