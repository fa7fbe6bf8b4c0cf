"""Random episodic tasks of section 8.6 (Figure 8.8): the test bed of trajectory sampling.

A task has ``n_states`` states and ``n_actions`` actions (2 in the book). Each action in each
state leads to one of ``branching`` (the book's b) next states, all equally likely and drawn at
random when the task is made, and every transition ends the episode with probability
``termination`` (0.1 in the book). The expected reward of each transition is drawn from
N(0, 1); ending the episode gives reward 0. Episodes start in state 0. No discounting.

A task is a pure function of ``task_seed``: ``random_mdp_model(n, b, task_seed=i)`` is the
same task in every process, and ``gym.make("dynaplan/RandomMDP-v0", task_seed=i)`` steps it.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np

from dynaplan.envs.tabular import TabularModel
from dynaplan.envs.tabular_env import TabularEnv


def check_random_mdp_params(n_states: int, branching: int, n_actions: int, termination: float) -> None:
    """ValueError naming the first out-of-range parameter."""
    if int(n_states) != n_states or n_states < 1:
        raise ValueError(f"n_states must be a positive integer, got {n_states}")
    if int(branching) != branching or not 1 <= branching <= n_states:
        raise ValueError(f"branching must be an integer in [1, n_states={n_states}], got {branching}")
    if int(n_actions) != n_actions or n_actions < 1:
        raise ValueError(f"n_actions must be a positive integer, got {n_actions}")
    if not 0.0 < termination <= 1.0:
        raise ValueError(f"termination must be in (0, 1], got {termination}")


def random_mdp_model(
    n_states: int = 1000,
    branching: int = 1,
    task_seed: int = 0,
    n_actions: int = 2,
    termination: float = 0.1,
) -> TabularModel:
    """The exact model of random task number ``task_seed`` (section 8.6).

    Outcome slots ``k < b`` of pair ``(s, a)`` go to the ``b`` successors (drawn uniformly with
    replacement from all states, so a successor may repeat when b > 1) with probability
    ``(1 - termination) / b`` each and reward ~ N(0, 1); the last slot ``k = b`` ends the episode
    (probability ``termination``, reward 0, next state ``s`` itself, never read).

    Returns a ``TabularModel`` with ``K = b + 1`` outcomes, start state 0.
    """
    check_random_mdp_params(n_states, branching, n_actions, termination)
    gen = np.random.default_rng(np.random.SeedSequence(int(task_seed)))
    b = int(branching)
    shape = (n_states, n_actions, b + 1)
    next_state = np.empty(shape, dtype=np.int64)
    next_state[:, :, :b] = gen.integers(0, n_states, size=(n_states, n_actions, b))
    next_state[:, :, b] = np.arange(n_states)[:, None]
    reward = np.zeros(shape)
    reward[:, :, :b] = gen.standard_normal((n_states, n_actions, b))
    prob = np.empty(shape)
    prob[:, :, :b] = (1.0 - termination) / b
    prob[:, :, b] = termination
    terminated = np.zeros(shape, dtype=np.bool_)
    terminated[:, :, b] = True
    start = np.zeros(n_states)
    start[0] = 1.0
    return TabularModel(next_state, prob, reward, terminated, start)


class RandomMDP(TabularEnv):
    """A random episodic task of Sutton & Barto (2018), section 8.6 (Figure 8.8).

    ## Description
    ``n_states`` states, ``n_actions`` actions; each pair leads to ``branching`` equally likely
    next states fixed when the task is made (a pure function of ``task_seed``), and every
    transition ends the episode with probability ``termination``.

    ## Action Space
    ``Discrete(n_actions)`` (2 in the book).

    ## Observation Space
    ``Discrete(n_states)``.

    ## Starting State
    State 0.

    ## Rewards
    Each transition to a next state has its own reward drawn once from N(0, 1); ending the
    episode gives 0.

    ## Episode End
    Terminated with probability ``termination`` on every step (the observation is then the
    state the episode ended from). The expected episode length is ``1 / termination``.

    ## Arguments
    ``n_states`` (1000), ``branching`` (1), ``task_seed`` (0), ``n_actions`` (2),
    ``termination`` (0.1).

    The exact model is ``env.unwrapped.model`` (dense arrays) and ``env.unwrapped.P``.
    """

    def __init__(
        self,
        n_states: int = 1000,
        branching: int = 1,
        task_seed: int = 0,
        n_actions: int = 2,
        termination: float = 0.1,
        render_mode: str | None = None,
    ) -> None:
        super().__init__(random_mdp_model(n_states, branching, task_seed, n_actions, termination), render_mode)
        self.task_seed = int(task_seed)
        self.s = 0

    def render(self) -> str | None:  # type: ignore[override]
        if self.render_mode == "ansi":
            last = "" if self.lastaction is None else f" (after action {self.lastaction})"
            return f"state {self.s}{last}\n"
        gym.logger.warn('RandomMDP.render needs render_mode "ansi"')
        return None
