"""The compiled agent-environment loop: any registered agent on any table world, resumable.

The world is any record registered with ``core.worlds.register_table_world`` (``envs.tabular.World``
is); the agent any state registered with ``core.kernels.register_kernels``.

It does exactly what the object API does with a Gymnasium env (reset with one draw, one draw
per step, ``act`` then ``observe``), so the same seeds give the same episodes either way. Every
run in the package (the batched runner, every reproduction) goes through :func:`run_loop`.

* **One clock.** ``t`` counts real steps over the whole run, across episodes and across calls:
  a changing world (``World.switch_at``) switches at the same total step however the run is cut
  into episodes or calls.
* **Resumable.** Given a :class:`LoopState` (``new_loop_state()``), ``run_loop`` starts from it
  and writes back where it stopped; with ``chunk_steps > 0`` it returns after at most that many
  real steps. Calling it again continues the same run: the draws, episodes and tables are those
  of one uninterrupted call (tested). :func:`run_chunked` does that from Python with chunks of
  about ``CHUNK_SECONDS`` each, so Ctrl-C (a ``KeyboardInterrupt`` between chunks) stops a run
  within about that time; compiled code itself never sees signals. A run may also be extended:
  call again with a larger ``n_episodes`` or ``total_steps`` (one episode per call, say) and the
  clock runs on.
* **Hooks.** ``hook`` (a ``NamedTuple`` registered with ``core.kernels.register_hook``) is called
  after every real step and may stop the run ("stop when the greedy path is optimal"); with
  ``hook=None`` nothing is compiled for it.
"""

from __future__ import annotations

import time
from typing import Any, NamedTuple

import numpy as np
from numba import types
from numba.extending import overload

from dynaplan._jit import kernel
from dynaplan.core.kernels import act, after_step, generic, observe
from dynaplan.core.worlds import table_phase, table_relocate, table_reset, table_step

CHUNK_SECONDS = 0.2
"""Target wall time of one chunk of :func:`run_chunked` (Python regains control this often)."""


class LoopState(NamedTuple):
    """Where a run of :func:`run_loop` stands between calls (each field an array of length 1).

    Attributes:
      t: int64[1], real steps taken over the whole run (the clock of changing worlds)
      episodes: int64[1], episodes finished (terminated or truncated)
      state: int64[1], the current state; -1 when the next step begins an episode (reset first)
      steps: int64[1], real steps of the episode under way
      ret: float64[1], undiscounted return of the episode under way
      phase: int64[1], the world's current phase (``World.switch_at``)
      done: bool[1], the last call reached the run's episode or step budget, or the hook stopped it
      stopped: bool[1], the hook stopped the run (a later call does nothing)
    """

    t: np.ndarray
    episodes: np.ndarray
    state: np.ndarray
    steps: np.ndarray
    ret: np.ndarray
    phase: np.ndarray
    done: np.ndarray
    stopped: np.ndarray


def new_loop_state() -> LoopState:
    """The state of a run not yet begun."""
    return LoopState(
        t=np.zeros(1, dtype=np.int64), episodes=np.zeros(1, dtype=np.int64), state=np.full(1, -1, dtype=np.int64),
        steps=np.zeros(1, dtype=np.int64), ret=np.zeros(1), phase=np.zeros(1, dtype=np.int64),
        done=np.zeros(1, dtype=np.bool_), stopped=np.zeros(1, dtype=np.bool_),
    )


def _load(loop: Any) -> tuple[int, int, int, int, float, int, bool]:
    """(t, episodes, state, steps, ret, phase, stopped) of ``loop``; a fresh run's for ``None``."""
    raise NotImplementedError("compiled code only")


def _store(loop: Any, t: int, episodes: int, s: int, steps: int, ret: float, phase: int, done: bool,
           stopped: bool) -> None:
    """Write the loop's position back into ``loop`` (nothing for ``None``)."""
    raise NotImplementedError("compiled code only")


def _is_none(arg: Any) -> bool:
    return isinstance(arg, (types.NoneType, types.Omitted))


@overload(_load)
def _load_impl(loop):  # type: ignore[no-untyped-def]
    if _is_none(loop):
        return lambda loop: (0, 0, -1, 0, 0.0, 0, False)
    return lambda loop: (loop.t[0], loop.episodes[0], loop.state[0], loop.steps[0], loop.ret[0], loop.phase[0],
                         loop.stopped[0])


@overload(_store)
def _store_impl(loop, t, episodes, s, steps, ret, phase, done, stopped):  # type: ignore[no-untyped-def]
    if _is_none(loop):
        return lambda loop, t, episodes, s, steps, ret, phase, done, stopped: None

    def impl(loop, t, episodes, s, steps, ret, phase, done, stopped):  # type: ignore[no-untyped-def]
        loop.t[0] = t
        loop.episodes[0] = episodes
        loop.state[0] = s
        loop.steps[0] = steps
        loop.ret[0] = ret
        loop.phase[0] = phase
        loop.done[0] = done
        loop.stopped[0] = stopped

    return impl


@kernel(inline=True)
def budget_left(n_episodes: int, total_steps: int, episodes: int, t: int) -> bool:
    """Whether a run goes on: fewer than ``n_episodes`` episodes finished (if > 0) and fewer than
    ``total_steps`` real steps taken (if > 0)."""
    return (n_episodes <= 0 or episodes < n_episodes) and (total_steps <= 0 or t < total_steps)


@kernel(inline=True)
def is_truncated(terminated: bool, steps: int, max_episode_steps: int) -> bool:
    """Gymnasium's ``TimeLimit``: an episode not terminated is cut after ``max_episode_steps`` (if > 0)."""
    return (not terminated) and max_episode_steps > 0 and steps >= max_episode_steps


@kernel(inline=True)
def record_episode(episode_steps: np.ndarray, episode_returns: np.ndarray, episodes: int, steps: int,
                   ret: float) -> int:
    """Write the finished episode number ``episodes + 1`` (if the outputs have room); returns it."""
    if episodes < episode_steps.shape[0]:
        episode_steps[episodes] = steps
        episode_returns[episodes] = ret
    return episodes + 1


@generic
@kernel
def run_loop(
    world: Any,
    agent: Any,
    agent_rng: np.ndarray,
    env_rng: np.ndarray,
    n_episodes: int,
    total_steps: int,
    max_episode_steps: int,
    episode_steps: np.ndarray,
    episode_returns: np.ndarray,
    step_rewards: np.ndarray,
    loop: Any = None,
    chunk_steps: int = 0,
    hook: Any = None,
) -> tuple[int, int]:
    """Run until ``n_episodes`` episodes end (if > 0) or ``total_steps`` real steps (if > 0).

    An episode is truncated after ``max_episode_steps`` steps (if > 0), as Gymnasium's
    ``TimeLimit`` does. When the world changes phase (``World.switch_at``, at total real step
    ``t``) the agent is moved by ``World.relocate`` and the episode goes on.

    ``loop``: a :class:`LoopState` to start from and to update (``None``: a fresh run, nothing
    kept); ``chunk_steps > 0``: return after at most that many real steps (``loop.done`` says
    whether the run is over); ``hook``: a registered loop hook, called after every real step,
    which may stop the run (``loop.stopped``).

    Outputs (filled in place): ``episode_steps: int64[E]`` and ``episode_returns: float64[E]``
    for each finished episode (index = episode number - 1); ``step_rewards: float64[T]`` the
    reward of each real step (index = t - 1; pass a zero-length array to skip). Returns
    ``(episodes finished, real steps taken)`` over the whole run so far.
    """
    t, episodes, s, steps, ret, phase, stopped = _load(loop)
    if stopped:
        return episodes, t
    done = False
    t_end = t + chunk_steps
    while True:
        if not budget_left(n_episodes, total_steps, episodes, t):
            done = True
            break
        if chunk_steps > 0 and t >= t_end:
            break
        if s < 0:  # a new episode begins
            s = table_reset(world, t, env_rng)
        a = act(agent, s, agent_rng)
        s2, r, terminated = table_step(world, t, s, a, env_rng)
        t += 1
        steps += 1
        ret += r
        if step_rewards.shape[0] > 0 and t <= step_rewards.shape[0]:
            step_rewards[t - 1] = r
        truncated = is_truncated(terminated, steps, max_episode_steps)
        observe(agent, s, a, r, s2, terminated, truncated, agent_rng)
        ended = terminated or truncated
        if ended:
            episodes = record_episode(episode_steps, episode_returns, episodes, steps, ret)
            steps = 0
            ret = 0.0
        if after_step(hook, agent, t, episodes, s, a, r, s2, terminated, truncated):
            s = s2
            done = True
            stopped = True
            break
        s = s2
        new_phase = table_phase(world, t)
        if new_phase != phase:
            phase = new_phase
            s = table_relocate(world, phase, s)
        if ended:
            # Reset now unless the run is over: a later call with a larger budget resets first
            # (the same draw at the same point of the stream either way).
            s = table_reset(world, t, env_rng) if budget_left(n_episodes, total_steps, episodes, t) else -1
    _store(loop, t, episodes, s, steps, ret, phase, done, stopped)
    return episodes, t


class Chunker:
    """Chunk sizes (real steps) for :func:`run_chunked` that take about ``seconds`` each.

    Starts at ``first`` steps and scales each next chunk by the measured time of the last one
    (at most ``growth`` times larger), so a slow agent (a search per step) returns quickly and a
    fast one is not slowed by call overhead. Reuse one ``Chunker`` for the runs of a batch: it
    keeps the size it learned. Chunk sizes never change results, only how often Python runs.
    """

    def __init__(self, seconds: float = CHUNK_SECONDS, first: int = 16, growth: float = 8.0) -> None:
        self.seconds = seconds
        self.steps = first
        self.growth = growth

    def update(self, steps: int, elapsed: float) -> None:
        """Record that ``steps`` real steps took ``elapsed`` seconds."""
        if steps < self.steps:  # the run ended inside the chunk: nothing learned about its size
            return
        factor = self.growth if elapsed <= 0 else min(self.growth, self.seconds / elapsed)
        self.steps = max(1, int(self.steps * factor))


def run_chunked(
    world: Any,
    agent: Any,
    agent_rng: np.ndarray,
    env_rng: np.ndarray,
    n_episodes: int,
    total_steps: int,
    max_episode_steps: int,
    episode_steps: np.ndarray,
    episode_returns: np.ndarray,
    step_rewards: np.ndarray,
    *,
    loop: LoopState | None = None,
    hook: Any = None,
    chunker: Chunker | None = None,
) -> LoopState:
    """:func:`run_loop` to the end of the run, in chunks of about ``CHUNK_SECONDS``.

    Returns the final :class:`LoopState` (``loop`` if given, updated). A ``KeyboardInterrupt``
    arrives between two chunks, with ``loop`` and the output arrays holding everything up to
    there (so a caller keeps the episodes that finished). The results equal one call of
    ``run_loop`` without chunks.
    """
    loop = new_loop_state() if loop is None else loop
    chunker = Chunker() if chunker is None else chunker
    while not loop.done[0]:
        t0, steps0 = time.perf_counter(), int(loop.t[0])
        run_loop(world, agent, agent_rng, env_rng, n_episodes, total_steps, max_episode_steps, episode_steps,
                 episode_returns, step_rewards, loop, chunker.steps, hook)
        chunker.update(int(loop.t[0]) - steps0, time.perf_counter() - t0)
    return loop
