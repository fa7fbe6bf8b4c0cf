"""Many seeds of one agent on one world, each run entirely inside compiled code, for every family.

``run_agent`` / ``run_batch`` dispatch to the agent family's execution backend
(``agent_cls.run_compiled``: the tabular family's chunked Numba loop, the linear family's Numba
loop over features; a JAX family's jitted loop joins the same way) on the family's ``Problem``
(``problem_of(env, agent=cls)``). ``run_agent`` is a pure function of (agent class, parameters,
world, seed): the agent's stream is ``SeedSequence(seed, spawn_key=(0,))`` and the world's is the stream Gymnasium's
``env.reset(seed=seed)`` creates, so a run equals the object-API loop

    agent = Cls(env, seed=seed, **params); obs, _ = env.reset(seed=seed)
    ... agent.act(obs); env.step(a); agent.observe(...); env.reset() after each episode

step for step (tested in ``tests/test_equivalence.py``).

Parameters are checked once, where they enter: ``check_agent_params`` turns them into a
``Checked`` record that ``run_batch`` and ``run_agent`` pass inward unchanged (``run_agent``
checks only a plain mapping). A tabular run goes through ``core.loop.run_chunked``: compiled
chunks of about 0.2 s, so Ctrl-C stops a batch promptly (``BatchInterrupted`` carries the runs
that finished).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import gymnasium as gym

from dynaplan.agents.problems import NEUTRAL_WRAPPERS, features_problem, table_problem
from dynaplan.core.agent import Agent
from dynaplan.core.loop import Chunker
from dynaplan.core.records import Problem, RunResult

__all__ = [
    "NEUTRAL_WRAPPERS", "BatchInterrupted", "Checked", "Problem", "RunResult", "check_agent_params",
    "linear_problem_of", "problem_of", "run_agent", "run_batch", "run_linear_agent",
]


def problem_of(env: gym.Env[Any, Any] | str, features: Any = None, *, agent: type[Agent] | None = None,
               **options: Any) -> Problem:
    """The ``Problem`` of an env (instance or id) for ``agent``'s family (``agent.problem_of``).

    Without ``agent``: a ``"features"`` problem when ``features`` is given, else a ``"table"``
    one. ``options``: the family's (``max_episode_steps`` for features problems) and the env's
    keyword arguments.
    """
    if agent is not None:
        return agent.problem_of(env, **({"features": features} if features is not None else {}), **options)
    if features is not None:
        return features_problem(env, features, **options)
    return table_problem(env, **options)


def linear_problem_of(env: gym.Env[Any, Any] | str, features: Any = None, **options: Any) -> Problem:
    """``features_problem`` (the name the README's examples use)."""
    return features_problem(env, features, **options)


@dataclass(frozen=True)
class Checked:
    """Hyperparameters validated by ``agent_cls.check_params`` (defaults filled in).

    Made once at the edge by ``check_agent_params``; the runner, batch and kind paths pass it
    inward unchanged and never check again.
    """

    agent_cls: type[Agent]
    params: Mapping[str, Any]


def check_agent_params(agent_cls: type[Agent], params: Mapping[str, Any] | Checked) -> Checked:
    """``params`` checked by ``agent_cls.check_params`` (``ParamError`` naming a bad one), unless already."""
    if isinstance(params, Checked) and params.agent_cls is agent_cls:
        return params
    raw = params.params if isinstance(params, Checked) else params
    return Checked(agent_cls, agent_cls.check_params(raw))


class BatchInterrupted(KeyboardInterrupt):
    """An interrupt during ``run_batch``: ``results`` holds the runs that finished before it;
    ``signum`` is the signal of a ``Terminated`` (SIGTERM, SIGHUP: see
    ``experiments.interrupts``), None for Ctrl-C. The runner, whose batches are all or nothing,
    raises ``Terminated(signum)`` in its place (``run_spec`` raises one exception per signal,
    wherever the signal landed)."""

    def __init__(self, results: list[RunResult], signum: int | None = None) -> None:
        super().__init__(f"interrupted after {len(results)} finished run(s)")
        self.results = results
        self.signum = signum

    def __reduce__(self) -> tuple[type[BatchInterrupted], tuple[list[RunResult], int | None]]:
        return type(self), (self.results, self.signum)


def run_agent(
    agent_cls: type[Agent],
    params: Mapping[str, Any] | Checked,
    problem: Problem,
    seed: int,
    *,
    episodes: int = 0,
    steps: int = 0,
    record_step_rewards: bool = False,
    max_episode_steps: int | None = None,
    chunker: Chunker | None = None,
) -> RunResult:
    """One run: ``episodes`` episodes (if > 0) or ``steps`` real steps (if > 0), whichever ends first.

    ``params``: a mapping (checked here) or a ``Checked`` record (used as is). Episodes are
    truncated after ``max_episode_steps`` steps (None: the env's limit, ``problem.max_episode_steps``;
    0: none). ``chunker``: chunk sizes of the compiled loop (reuse one across the runs of a batch).
    """
    checked = check_agent_params(agent_cls, params).params
    return agent_cls.run_compiled(
        checked, problem, int(seed), episodes=episodes, steps=steps, record_step_rewards=record_step_rewards,
        max_episode_steps=max_episode_steps, chunker=chunker,
    )


run_linear_agent = run_agent
"""``run_agent`` (the name the README's examples use for linear agents)."""


def run_batch(
    agent_cls: type[Agent],
    params: Mapping[str, Any] | Checked,
    problem: Problem,
    seeds: Iterable[int],
    **kwargs: Any,
) -> list[RunResult]:
    """``run_agent`` for each seed (parameters checked once; each run compiled code end to end).

    Keyword arguments are ``run_agent``'s. Ctrl-C (or SIGTERM / SIGHUP inside
    ``interrupts.signals_interrupt``) raises ``BatchInterrupted`` with the finished runs.
    """
    checked = check_agent_params(agent_cls, params)
    kwargs.setdefault("chunker", Chunker())
    results: list[RunResult] = []
    try:
        for seed in seeds:
            results.append(run_agent(agent_cls, checked, problem, int(seed), **kwargs))
    except KeyboardInterrupt as exc:
        raise BatchInterrupted(results, getattr(exc, "signum", None)) from None
    return results
