"""Means and intervals over runs: the closed forms, and computed in ``dynaplan.stats`` only."""

import ast
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import dynaplan
from dynaplan.stats import (
    Z95,
    difference_interval,
    mcnemar_exact,
    mean_interval,
    normal_band,
    proportion_interval,
    t_half,
    t_interval,
    t_quantile,
)

#: Student's t quantile 0.975 from printed tables (4, 9 and 29 degrees of freedom).
T_TABLE = {5: 2.7764, 10: 2.2622, 30: 2.0452}


@pytest.mark.parametrize(("runs", "quantile"), sorted(T_TABLE.items()))
def test_t_quantile_is_the_printed_table(runs, quantile):
    assert t_quantile(runs) == pytest.approx(quantile, abs=5e-5)
    assert np.allclose(t_quantile(np.array([runs, runs])), quantile, atol=5e-5)


def test_intervals_are_the_closed_forms():
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0])  # mean 3, sample std sqrt(2.5)
    mean, half, n = t_interval(x)
    assert (mean, n) == (3.0, 5)
    assert half == pytest.approx(2.7764 * math.sqrt(2.5) / math.sqrt(5), abs=1e-4)
    assert mean_interval(x)[1] == pytest.approx(1.96 * math.sqrt(2.5) / math.sqrt(5))
    assert t_interval([7.0]) == (7.0, pytest.approx(float("nan"), nan_ok=True), 1)
    assert math.isnan(t_interval([])[0])
    assert np.isnan(t_half(1.0, 1))
    lo, hi = normal_band(pd.Series([10.0, 4.0]), pd.Series([1.0, float("nan")]))
    assert list(lo) == [10.0 - Z95, 4.0] and list(hi) == [10.0 + Z95, 4.0]


def test_no_module_computes_an_interval_of_its_own():
    """No ``1.96`` and no t quantile (``ppf``) in the package's code outside ``stats.py``
    (docstrings may name them): an interval is computed by calling ``dynaplan.stats``."""
    root = Path(dynaplan.__file__).parent
    found = []
    for path in sorted(root.rglob("*.py")):
        if path.name == "stats.py" and path.parent == root:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and node.value == 1.96:
                found.append(f"{path.relative_to(root)}:{node.lineno}: 1.96")
            if isinstance(node, ast.Attribute) and node.attr == "ppf":
                found.append(f"{path.relative_to(root)}:{node.lineno}: .ppf")
    assert found == []


#: Wilson's 95% score intervals printed by Newcombe (1998), Statistics in Medicine 17, table I, method 3.
NEWCOMBE = [((81, 263), (0.2553, 0.3662)), ((15, 148), (0.0624, 0.1605)), ((0, 20), (0.0, 0.1611)),
            ((1, 29), (0.0061, 0.1718))]


@pytest.mark.parametrize(("counts", "interval"), NEWCOMBE)
def test_proportion_interval_is_newcombes_table(counts, interval):
    share, low, high = proportion_interval(*counts)
    assert share == counts[0] / counts[1]
    assert (low, high) == (pytest.approx(interval[0], abs=5e-5), pytest.approx(interval[1], abs=5e-5))


def test_proportion_interval_edges_and_mcnemar_closed_form():
    assert proportion_interval(10, 10)[1:] == (pytest.approx(1 - 0.2775, abs=5e-5), pytest.approx(1.0))
    assert proportion_interval(0, 10)[1:] == (0.0, pytest.approx(0.2775, abs=5e-5))  # the mirror image
    assert all(math.isnan(v) for v in proportion_interval(0, 0))
    with pytest.raises(ValueError, match="successes"):
        proportion_interval(3, 2)
    assert mcnemar_exact(0, 10) == pytest.approx(2 * 0.5**10)  # all ten discordant pairs one way
    assert mcnemar_exact(1, 4) == pytest.approx(2 * (1 + 5) / 2**5)  # 2 P(X <= 1), X ~ B(5, 1/2)
    assert mcnemar_exact(3, 3) == 1.0 and mcnemar_exact(0, 0) == 1.0


@pytest.mark.parametrize(("counts", "interval"), [((56, 70, 48, 80), (0.0524, 0.3339)),
                                                  ((9, 10, 3, 10), (0.1705, 0.8090))])
def test_difference_interval_is_newcombes_method_10(counts, interval):
    """Newcombe (1998), Statistics in Medicine 17, 873-890, table II, method 10."""
    d, low, high = difference_interval(*counts)
    assert d == pytest.approx(counts[0] / counts[1] - counts[2] / counts[3])
    assert (low, high) == (pytest.approx(interval[0], abs=5e-5), pytest.approx(interval[1], abs=5e-5))
