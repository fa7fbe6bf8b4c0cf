"""Expected vs sample updates (Figure 8.7) against the closed form sqrt((b - 1) / (b t))."""

import numpy as np
import pytest

from dynaplan.planning.expected_sample import (
    analytic_rms,
    default_runs,
    expected_update_rms,
    fill_standard_normal,
    plot_points,
    sample_update_rms,
)
from dynaplan.rng import from_seed


@pytest.mark.parametrize("b", [2, 10, 100, 1000, 10_000])
def test_simulated_rms_within_2_percent_of_analytic(b):
    """At the plotted points (t = 1 and 40 points up to 2b). Runs: 200,000 for b <= 100, 20,000
    above; the relative standard error of each point is then at most 0.55%, so 2% is more
    than 3.6 standard errors."""
    runs = default_runs(b)
    rms, se = sample_update_rms(b, runs, from_seed(1000 + b))
    t = plot_points(b)
    sim = rms[t - 1]
    assert (se[t - 1] / sim).max() < 0.0056
    np.testing.assert_array_less(np.abs(sim / analytic_rms(b, t) - 1.0), 0.02)


def test_expected_update_needs_b_computations():
    comp = np.array([0, 1, 9, 10, 20])
    assert list(expected_update_rms(10, comp)) == [1, 1, 1, 0, 0]
    assert analytic_rms(10, np.array([0]))[0] == 1.0  # the initial error


def test_normal_draws():
    x = np.empty(400_001)  # odd length: the last value comes from a half-used pair
    fill_standard_normal(x, from_seed(3))
    # SE of the mean 0.0016, of the variance 0.0022, of P(|x| < 1) 0.0007
    assert abs(x.mean()) < 0.007
    assert abs(x.var() - 1.0) < 0.01
    assert abs((np.abs(x) < 1).mean() - 0.682689) < 0.003


def test_bad_b():
    with pytest.raises(ValueError, match="b"):
        sample_update_rms(0, 100, from_seed(0))


def test_reproduction_kind_pools_seeds():
    from dynaplan.experiments.reproductions.expected_vs_sample import check_cell, curves, run_kind, summary

    table = run_kind({"b": 10, "runs": 50_000}, [1, 2])  # 100,000 runs pooled: SE ~ 0.3%
    c = curves(table)
    assert (c["runs"] == 100_000).all()
    assert c["rel_dev"].abs().max() < 0.02
    row = summary(table).iloc[0]
    assert row["exact_b"] == pytest.approx(0.3)  # sqrt(9 / 100)
    for bad, key in [({"b": 1, "runs": 10}, "b"), ({"b": 2, "runs": 10, "x": 1}, "x"), ({"b": 2}, "runs")]:
        with pytest.raises(ValueError, match=f"^{key}"):
            check_cell(bad)
