"""``ParamError``: a bad parameter carries its key, survives a process boundary, is a ValueError."""

import pickle

import pytest

from dynaplan.agents import AGENTS
from dynaplan.agents.base import ParamError


@pytest.mark.parametrize(
    ("agent", "params", "key"),
    [
        ("dyna-q", {"alpha": 2.0}, "alpha"),
        ("dyna-q", {"epsilon": -0.1}, "epsilon"),
        ("dyna-q", {"planning_steps": -1}, "planning_steps"),
        ("prioritized-sweeping", {"theta": 0.0}, "theta"),
        ("prioritized-sweeping", {"model": "exact"}, "model"),
        ("prioritized-sweeping", {"max_outcomes": 0}, "max_outcomes"),
    ],
)
def test_checks_raise_the_key(agent, params, key):
    with pytest.raises(ParamError) as info:
        AGENTS[agent].check_params(params)
    assert info.value.key == key
    assert isinstance(info.value, ValueError)
    assert str(info.value).startswith(key)


def test_param_error_pickles_with_its_key():
    err = pickle.loads(pickle.dumps(ParamError("alpha", "alpha must be in (0, 1], got 2")))
    assert isinstance(err, ParamError)
    assert (err.key, str(err)) == ("alpha", "alpha must be in (0, 1], got 2")
