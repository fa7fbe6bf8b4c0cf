"""The one episode loop: resumable in chunks (same results), hooks, one clock, checked once, step limits."""

from __future__ import annotations

import signal
import threading
import time
from typing import NamedTuple

import numpy as np
import pytest
from numba import njit

import dynaplan
from dynaplan import DynaQ, problem_of, run_agent, run_batch
from dynaplan.core.kernels import register_hook
from dynaplan.core.loop import Chunker, new_loop_state, run_chunked, run_loop
from dynaplan.experiments.batch import BatchInterrupted, Checked
from dynaplan.experiments.kinds import DEFAULT_MAX_EPISODE_STEPS, episode_step_limit, get_kind
from dynaplan.rng import agent_stream, env_stream


def _run(env_id, params, seed, steps, chunk, **env_kwargs):
    problem = problem_of(env_id, **env_kwargs)
    state = DynaQ.build_state(problem.n_states, problem.n_actions, None, DynaQ.check_params(params))
    ep_steps, ep_returns, rewards = np.zeros(steps, np.int64), np.zeros(steps), np.zeros(steps)
    a_rng, e_rng = agent_stream(seed), env_stream(seed)
    if chunk == 0:
        episodes, t = run_loop(problem.world, state, a_rng, e_rng, 0, steps, 0, ep_steps, ep_returns, rewards)
        calls = 1
    else:
        loop = new_loop_state()
        calls = 0
        while not loop.done[0]:
            run_loop(problem.world, state, a_rng, e_rng, 0, steps, 0, ep_steps, ep_returns, rewards, loop, chunk)
            calls += 1
        episodes, t = int(loop.episodes[0]), int(loop.t[0])
    return episodes, t, ep_steps[:episodes].copy(), rewards, state.q.copy(), a_rng.copy(), e_rng.copy(), calls


@pytest.mark.parametrize("chunk", [1, 7, 1000])
def test_chunked_equals_unchunked_across_a_world_change(chunk):
    # The blocking maze closes the short route at total step 1,000 (shortest path 10 -> 16): with
    # chunks the clock must run on across calls (and episodes) for the change to come at the same step.
    whole = _run("dynaplan/BlockingMaze-v0", {"alpha": 1.0, "planning_steps": 5}, 3, 3000, 0)
    parts = _run("dynaplan/BlockingMaze-v0", {"alpha": 1.0, "planning_steps": 5}, 3, 3000, chunk)
    assert parts[7] == -(-3000 // chunk)  # really cut into chunks
    assert parts[:2] == whole[:2] and whole[1] == 3000
    for a, b in zip(parts[2:7], whole[2:7], strict=True):
        assert np.array_equal(a, b)
    # The change really happened: episodes shorter than the new shortest path before, none after.
    ends = np.cumsum(whole[2])
    assert whole[2][ends < 1000].min() < 16 <= whole[2][ends - whole[2] >= 1000].min()


def test_run_chunked_equals_one_call_and_returns_often():
    problem = problem_of("dynaplan/DynaMaze-v0")
    params = DynaQ.check_params({"planning_steps": 5})
    out = []
    for chunker in (None, Chunker(seconds=1e-9, first=3, growth=1.0)):
        state = DynaQ.build_state(problem.n_states, problem.n_actions, None, params)
        ep = np.zeros(30, np.int64)
        if chunker is None:
            run_loop(problem.world, state, agent_stream(1), env_stream(1), 30, 0, 0, ep, np.zeros(30), np.zeros(0))
        else:
            loop = run_chunked(problem.world, state, agent_stream(1), env_stream(1), 30, 0, 0, ep, np.zeros(30),
                               np.zeros(0), chunker=chunker)
            assert loop.done[0] and not loop.stopped[0] and loop.episodes[0] == 30
            assert chunker.steps == 1  # shrunk to the minimum: one call per real step
        out.append((ep, state.q))
    assert np.array_equal(out[0][0], out[1][0]) and np.array_equal(out[0][1], out[1][1])


class StopAtStep(NamedTuple):
    at: int
    seen: np.ndarray  # int64[1]: steps the hook was called for


@njit(cache=True)
def stop_at_step(hook, agent, t, episodes, s, a, r, s2, terminated, truncated):  # type: ignore[no-untyped-def]
    hook.seen[0] += 1
    return t >= hook.at


register_hook(StopAtStep, after_step=stop_at_step)


def test_hook_stops_the_run_where_it_says():
    problem = problem_of("dynaplan/DynaMaze-v0")
    state = DynaQ.build_state(problem.n_states, problem.n_actions, None, DynaQ.check_params({}))
    hook = StopAtStep(123, np.zeros(1, np.int64))
    loop = new_loop_state()
    ep = np.zeros(1000, np.int64)
    run_loop(problem.world, state, agent_stream(0), env_stream(0), 1000, 0, 0, ep, np.zeros(1000), np.zeros(0),
             loop, 0, hook)
    assert loop.done[0] and loop.stopped[0]
    assert loop.t[0] == 123 == hook.seen[0]
    # The same run without the hook, cut at 123 steps, took the same steps and draws.
    other = DynaQ.build_state(problem.n_states, problem.n_actions, None, DynaQ.check_params({}))
    run_loop(problem.world, other, agent_stream(0), env_stream(0), 0, 123, 0, np.zeros(1000, np.int64),
             np.zeros(1000), np.zeros(0))
    assert np.array_equal(state.q, other.q)
    # A stopped run does not go on when called again.
    run_loop(problem.world, state, agent_stream(0), env_stream(0), 1000, 0, 0, ep, np.zeros(1000), np.zeros(0),
             loop, 0, hook)
    assert loop.t[0] == 123


def test_check_params_runs_once_for_a_batch_and_for_a_kind(monkeypatch):
    calls = []
    original = DynaQ.check_params.__func__  # type: ignore[attr-defined]

    def counting(cls, params):
        calls.append(dict(params))
        return original(cls, params)

    monkeypatch.setattr(DynaQ, "check_params", classmethod(counting))
    problem = problem_of("dynaplan/DynaMaze-v0")
    results = run_batch(DynaQ, {"planning_steps": 5}, problem, range(10), episodes=2)
    assert len(results) == 10 and len(calls) == 1
    calls.clear()
    table = get_kind("episodes").run(
        {"env": "dynaplan/DynaMaze-v0", "agent": "dyna-q", "episodes": 2, "planning_steps": 5}, list(range(10))
    )
    assert len(table) == 20 and len(calls) == 1
    calls.clear()
    # A checked record flows inward unchanged (and is not re-checked).
    checked = Checked(DynaQ, DynaQ.check_params({}))
    calls.clear()
    run_agent(DynaQ, checked, problem, 0, episodes=1)
    assert calls == []


def test_default_step_limit_where_the_env_has_none():
    assert episode_step_limit({"env": "CliffWalking-v1", "agent": "mcts", "episodes": 3}) == (
        DEFAULT_MAX_EPISODE_STEPS, "default")
    assert episode_step_limit({"env": "FrozenLake-v1", "agent": "dyna-q", "episodes": 3}) == (100, "env")
    assert episode_step_limit({"env": "FrozenLake-v1", "agent": "dyna-q", "max_episode_steps": 7}) == (7, "cell")
    # CliffWalking's shortest path is 13 steps and a fall returns to the start without ending the
    # episode: with a limit of 5 every episode is cut at exactly 5 steps.
    table = get_kind("episodes").run(
        {"env": "CliffWalking-v1", "agent": "q-learning", "episodes": 3, "max_episode_steps": 5}, [0, 1]
    )
    assert table.steps.tolist() == [5] * 6
    check = get_kind("episodes").check
    assert check is not None
    with pytest.raises(ValueError, match="max_episode_steps must be an integer >= 0"):
        check({"env": "CliffWalking-v1", "agent": "q-learning", "episodes": 3, "max_episode_steps": -1})


def test_ctrl_c_stops_a_long_compiled_run_promptly():
    # An episode of Q-learning with epsilon = 1 on CliffWalking (no step limit) for 10^10 steps
    # would take minutes in one compiled call; in chunks, SIGINT is seen within a chunk or two.
    problem = problem_of("CliffWalking-v1")
    cls = dynaplan.AGENTS["q-learning"]
    state = cls.build_state(problem.n_states, problem.n_actions, None, cls.check_params({"epsilon": 1.0}))
    ep = np.zeros(10, np.int64)
    # Compile (or load) the loop for these types first, so the signal arrives while it runs.
    run_chunked(problem.world, state, agent_stream(0), env_stream(0), 0, 10, 0, ep, np.zeros(10), np.zeros(0))
    loop = new_loop_state()
    timer = threading.Timer(0.5, lambda: signal.raise_signal(signal.SIGINT))
    t0 = time.perf_counter()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        run_chunked(problem.world, state, agent_stream(0), env_stream(0), 0, 10**10, 0, ep, np.zeros(10),
                    np.zeros(0), loop=loop)
    elapsed = time.perf_counter() - t0
    timer.join()
    assert elapsed < 5.0, elapsed
    assert 0 < loop.t[0] < 10**10 and not loop.done[0]  # the loop state holds what was done


def test_batch_interrupted_keeps_the_finished_runs(monkeypatch):
    import dynaplan.experiments.batch as batch

    real = batch.run_agent

    def flaky(cls, params, problem, seed, **kwargs):
        if seed == 2:
            raise KeyboardInterrupt
        return real(cls, params, problem, seed, **kwargs)

    monkeypatch.setattr(batch, "run_agent", flaky)
    with pytest.raises(BatchInterrupted) as info:
        run_batch(DynaQ, {}, problem_of("dynaplan/DynaMaze-v0"), [0, 1, 2, 3], episodes=1)
    assert [r.seed for r in info.value.results] == [0, 1]


def test_a_run_extended_one_episode_per_call_equals_one_call():
    # The blocking maze changes at total step 1,000: extending the run episode by episode keeps
    # the clock (a restart at t = 0 every episode would never see the change).
    problem = problem_of("dynaplan/BlockingMaze-v0")
    params = DynaQ.check_params({"alpha": 1.0, "planning_steps": 5})
    whole = DynaQ.build_state(problem.n_states, problem.n_actions, None, params)
    ep_whole = np.zeros(60, np.int64)
    run_loop(problem.world, whole, agent_stream(5), env_stream(5), 60, 0, 0, ep_whole, np.zeros(60), np.zeros(0))
    parts = DynaQ.build_state(problem.n_states, problem.n_actions, None, params)
    ep_parts = np.zeros(60, np.int64)
    loop = new_loop_state()
    a_rng, e_rng = agent_stream(5), env_stream(5)
    for ep in range(60):
        run_loop(problem.world, parts, a_rng, e_rng, ep + 1, 0, 0, ep_parts, np.zeros(60), np.zeros(0), loop)
        assert loop.episodes[0] == ep + 1 and loop.done[0]
    assert np.array_equal(ep_whole, ep_parts) and np.array_equal(whole.q, parts.q)
    assert loop.t[0] == ep_whole.sum() > 1000 and loop.phase[0] == 1


def test_summary_line_says_no_episode_finished_instead_of_nan():
    import pandas as pd

    from dynaplan.experiments.kinds import last_episodes_summary

    # A step budget that ends inside the first episode: no row at all.
    table = get_kind("episodes").run({"env": "CliffWalking-v1", "agent": "q-learning", "steps": 5, "epsilon": 1.0},
                                     [0, 1])
    assert table.empty and last_episodes_summary(table) == "no episode finished"
    t = pd.DataFrame({"seed": [1, 1, 1, 2, 2], "episode": [1, 2, 3, 1, 2], "steps": [10, 20, 30, 5, 7],
                      "return": [1.0, 1.0, 1.0, 0.0, 1.0]})
    # Per run the last two episodes, then the mean over the two runs: (25 + 6) / 2.
    assert last_episodes_summary(t, last=2) == "mean steps over the last 2 episodes 15.50, mean return 0.750 (2 runs)"
