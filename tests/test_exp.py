"""The softmax's exp (``dynaplan._exp.exp_nonpositive``) against numpy's exp, and a Dyna-AC planning
update against the book's equations computed independently with numpy."""

import math

import numpy as np
from numba import njit

from dynaplan._exp import exp_nonpositive
from dynaplan.models.sample import new_sample_model, sample_model_update
from dynaplan.planning.dyna_ac import tried_pair_update


@njit
def _exp_all(xs, out):
    for i in range(xs.shape[0]):
        out[i] = exp_nonpositive(xs[i])


def test_exp_is_within_two_ulp_of_numpy():
    rng = np.random.default_rng(0)
    xs = np.concatenate([
        -rng.uniform(0, 40, 1_000_000),
        -rng.uniform(0, 600, 1_000_000),
        -rng.uniform(0, 1e-6, 10_000),
        -np.arange(0, 866) * math.log(2),  # the reduction's boundaries: r = 0 exactly
        -(np.arange(1, 865) + 0.5) * math.log(2),  # |r| = ln 2 / 2, the widest
        [0.0, -0.0, -1e-300, -5e-324, -600.0, 1.0, 700.0],
    ])
    out = np.empty_like(xs)
    _exp_all(xs, out)
    ref = np.exp(xs)
    assert np.all(np.abs(out - ref) <= 2 * np.spacing(ref))
    assert np.all(out[xs == 0.0] == 1.0)  # exp(0) is exactly 1: the softmax's maximum


def test_exp_below_minus_600_reads_as_minus_600():
    xs = np.array([-600.5, -708.5, -745.0, -1e308, -np.inf])
    out = np.empty_like(xs)
    _exp_all(xs, out)
    assert np.all(out == out[0]) and abs(out[0] - math.exp(-600.0)) <= 2 * np.spacing(math.exp(-600.0))


def test_tried_pair_update_is_the_books_update():
    """One planning update on a hand-made model: the actor step with the drawn action's TD error
    (eq. 13.9 with one-hot features) and the critic's expected update over the tried actions
    (section 8.5), both recomputed here from their definitions in numpy."""
    model = new_sample_model(3, 4)
    # state 0: actions 2, 0, 3 tried (1 never); action 3 ends the episode
    sample_model_update(model, 0, 2, -1.0, 1, False, 0)
    sample_model_update(model, 0, 0, 0.5, 2, False, 1)
    sample_model_update(model, 0, 3, 2.0, 1, True, 2)
    h = np.array([[0.3, -2.0, 1.1, 0.2], [0.0] * 4, [0.0] * 4])
    v = np.array([0.4, -0.7, 1.3])
    alpha_actor, alpha_critic, gamma = 0.2, 0.3, 0.9
    pi = np.exp(h[0] - h[0].max()) / np.exp(h[0] - h[0].max()).sum()
    x = {2: -1.0 + gamma * v[1], 0: 0.5 + gamma * v[2], 3: 2.0}
    tried = [0, 2, 3]
    v_target = sum(pi[b] * x[b] for b in tried) / pi[tried].sum()
    a = 0
    delta = x[a] - v[0]
    h_expected = h[0] + alpha_actor * delta * (np.eye(4)[a] - pi)
    v_expected = v[0] + alpha_critic * (v_target - v[0])
    tried_pair_update(h, v, model, 0, a, alpha_actor, alpha_critic, gamma, np.zeros(4))
    assert np.allclose(h[0], h_expected, rtol=0, atol=1e-14)
    assert abs(v[0] - v_expected) < 1e-14
    assert np.all(h[1:] == 0.0) and v[1] == -0.7 and v[2] == 1.3
