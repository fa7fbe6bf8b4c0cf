"""Everything a kernel author needs, in one place: ``from dynaplan.extend import ...``.

Two things can be added to dynaplan from outside the package, without editing it:

* **an algorithm** (an agent): a ``NamedTuple`` state, ``act`` / ``observe`` kernels registered
  with :func:`register_kernels`, and a :class:`TabularAgent` subclass registered with
  :func:`register_agent`. The object API, the compiled runner (:func:`run_agent`), specs and
  the CLI then know it. Set ``example_params`` (and ``example_env``) on the class: the
  registry-parametrised tests (object API == compiled runner) then cover it.
* **a model type**: a ``NamedTuple`` of arrays whose kernels (sample an outcome, say which pairs
  are known, draw one, optionally list outcome slots for expected backups and record real
  steps) are registered with :func:`register_model`. Search (:func:`mcts_search`,
  :func:`rollout_search`, :func:`lookahead_search`), background planning
  (:func:`dyna_planning`) and the search agents then work on it, through the generic
  ``model_*`` functions.

Kernels are compiled with :func:`kernel` (``njit(cache=True, _nrt=False)``) or plain
``numba.njit``; they run inside compiled loops without reference counting, so they must not
allocate arrays (write loops). Randomness is a ``uint64[4]`` PCG64 state: draw with
:func:`rand`, :func:`randint`, :func:`categorical`. A softmax policy over preferences has
:func:`softmax_probs`, :func:`softmax_sample` and :func:`actor_update` (eq. 13.9), built on
:func:`exp_nonpositive`, an inline, vectorisable ``exp`` within 2 ulp. ``docs/extending.md`` ("Add your own algorithm")
and ``tests/test_extending.py`` show both extensions end to end.
"""

from dynaplan._exp import exp_nonpositive
from dynaplan._jit import kernel
from dynaplan._stamp import generic
from dynaplan.agents import AGENTS, Agent, LinearAgent, TabularAgent, register_agent
from dynaplan.agents.base import (
    ParamError,
    check_choice,
    check_count,
    check_flag,
    check_number,
    check_positive,
    check_positive_count,
    check_unit,
    discrete_sizes,
)
from dynaplan.agents.tabular import check_td_params, initial_q
from dynaplan.core.egreedy import argmax_random, epsilon_greedy, max_value
from dynaplan.core.kernels import act_once, observe_once, register_kernels
from dynaplan.envs.tabular import TabularModel, World, make_world, model_of
from dynaplan.experiments.batch import Problem, RunResult, problem_of, run_agent, run_batch
from dynaplan.models.distribution import (
    DistributionModel,
    distribution_model_update,
    expected_target,
    new_distribution_model,
    sample_observed_pair_dist,
)
from dynaplan.models.protocol import (
    MODELS,
    check_model,
    model_backup,
    model_draw_known,
    model_known,
    model_n_known,
    model_outcome,
    model_planning_target,
    model_sample,
    model_sizes,
    model_update,
    model_width,
    register_model,
    state_value,
)
from dynaplan.models.sample import SampleModel, new_sample_model, sample_model_update, sample_observed_pair
from dynaplan.planning.dyna_ac import actor_update, softmax_probs, softmax_sample
from dynaplan.planning.dyna_q import dyna_planning
from dynaplan.planning.q_learning import q_update
from dynaplan.rng import agent_stream, categorical, env_stream, from_seed, rand, randint
from dynaplan.search import lookahead_search, mcts_search, rollout_search

__all__ = [
    "AGENTS",
    "MODELS",
    "Agent",
    "DistributionModel",
    "LinearAgent",
    "ParamError",
    "Problem",
    "RunResult",
    "SampleModel",
    "TabularAgent",
    "TabularModel",
    "World",
    "act_once",
    "actor_update",
    "agent_stream",
    "argmax_random",
    "categorical",
    "check_choice",
    "check_count",
    "check_flag",
    "check_model",
    "check_number",
    "check_positive",
    "check_positive_count",
    "check_td_params",
    "check_unit",
    "discrete_sizes",
    "distribution_model_update",
    "dyna_planning",
    "env_stream",
    "epsilon_greedy",
    "exp_nonpositive",
    "expected_target",
    "from_seed",
    "generic",
    "initial_q",
    "kernel",
    "lookahead_search",
    "make_world",
    "max_value",
    "mcts_search",
    "model_backup",
    "model_draw_known",
    "model_known",
    "model_n_known",
    "model_of",
    "model_outcome",
    "model_planning_target",
    "model_sample",
    "model_sizes",
    "model_update",
    "model_width",
    "new_distribution_model",
    "new_sample_model",
    "observe_once",
    "problem_of",
    "q_update",
    "rand",
    "randint",
    "register_agent",
    "register_kernels",
    "register_model",
    "rollout_search",
    "run_agent",
    "run_batch",
    "sample_model_update",
    "sample_observed_pair",
    "sample_observed_pair_dist",
    "softmax_probs",
    "softmax_sample",
    "state_value",
]
