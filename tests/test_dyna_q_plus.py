"""Dyna-Q+ (section 8.3) and the action-bonus variant (Exercise 8.4): closed forms, identity of
the object API and the compiled runner, and the book's results in the changing mazes."""

import gymnasium as gym
import numpy as np
import pytest

import dynaplan
from dynaplan import DynaQ, DynaQPlus, problem_of, run_agent
from dynaplan.envs.layouts import shortest_path_length
from dynaplan.experiments.reproductions import changing_mazes as cm
from dynaplan.planning.dyna_q_plus import dyna_q_plus_planning
from dynaplan.rng import from_seed, run_seeds

UP, DOWN, LEFT, RIGHT = 0, 1, 2, 3


def corridor():
    return gym.make("dynaplan/GridMaze-v0", layout="SG\n")


def test_registered_and_exported():
    assert dynaplan.AGENTS["dyna-q-plus"] is DynaQPlus
    assert DynaQPlus.name == "dyna-q-plus"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"kappa": -1}, "kappa"),
        ({"kappa": "big"}, "kappa"),
        ({"bonus": "both"}, "bonus"),
        ({"plan_untried": "yes"}, "plan_untried"),
        ({"planning_steps": -2}, "planning_steps"),
        ({"alpha": 0}, "alpha"),
        ({"kapa": 1e-3}, "unknown"),
    ],
)
def test_bad_parameters(params, message):
    with pytest.raises(ValueError, match=message):
        DynaQPlus(corridor(), **params)


@pytest.mark.parametrize("plan_untried", [True, False])
def test_planning_bonus_fixed_point(plan_untried):
    """One visited state s=0 of a corridor S G; only ``right`` tried (reward 1, terminal) at step 0.

    With alpha = 1 planning iterates the Bellman equation to its fixed point, here in closed form:
    Q(0, right) = 1 + kappa sqrt(tau_r),  tau_r = t - 1 (tried at step 0);
    an untried action is a self-loop with reward 0: Q(0, a) = kappa sqrt(t) + gamma Q(0, right)
    (when that is below Q(0, right)), or stays 0 if untried actions are not planned.
    """
    agent = DynaQPlus(corridor(), kappa=1e-3, planning_steps=0, alpha=1.0, gamma=0.9, plan_untried=plan_untried)
    agent.observe(0, RIGHT, 1.0, 1, True)
    t = 101
    dyna_q_plus_planning(agent.q, agent.model, t, 4000, 1.0, 0.9, 1e-3, plan_untried, from_seed(0))
    q_right = 1 + 1e-3 * np.sqrt(t - 1)
    assert agent.q[0, RIGHT] == pytest.approx(q_right, abs=1e-12)
    untried = 1e-3 * np.sqrt(t) + 0.9 * q_right if plan_untried else 0.0
    for a in (UP, DOWN, LEFT):
        assert agent.q[0, a] == pytest.approx(untried, abs=1e-12)
    assert (agent.q[1] == 0).all()  # the goal was never visited: never planned from


def test_tau_counts_real_steps_since_last_tried():
    env = corridor()
    agent = DynaQPlus(env, planning_steps=0)
    agent.observe(0, LEFT, 0.0, 0, False)  # step 0
    agent.observe(0, UP, 0.0, 0, False)  # step 1
    agent.observe(0, LEFT, 0.0, 0, False)  # step 2
    tau = agent.tau()
    assert agent.steps == 3
    assert tau[0, LEFT] == 0 and tau[0, UP] == 1 and tau[0, RIGHT] == 3 and tau[1, UP] == 3


def test_action_bonus_selects_argmax_of_q_plus_bonus_and_updates_without_bonus():
    """Exercise 8.4: epsilon = 0 picks argmax Q + kappa sqrt(tau); the Q update is Q-learning's."""
    agent = DynaQPlus(corridor(), bonus="action", kappa=0.01, epsilon=0.0, planning_steps=0, alpha=0.5)
    for _ in range(100):  # try up 100 times: up and down are then the only tried/untried contrast
        agent.observe(0, UP, 0.0, 0, False)
    agent.q[0] = [0.05, 0.0, -1.0, -1.0]
    # t = 100: tau(up) = 0, tau(down) = 100 -> bonus 0.1 > 0.05: down wins.
    assert all(agent.act(0) == DOWN for _ in range(20))
    agent.q[0, UP] = 0.2
    assert all(agent.act(0) == UP for _ in range(20))
    agent.observe(0, RIGHT, 1.0, 1, True)
    assert agent.q[0, RIGHT] == pytest.approx(-1.0 + 0.5 * (1.0 - -1.0))  # no bonus in the update


def test_kappa_zero_without_untried_is_dyna_q():
    """Dyna-Q+ with no bonus and no untried pairs is Dyna-Q (an independent kernel), draw for draw."""
    prob = problem_of("dynaplan/DynaMaze-v0")
    for bonus in ("planning", "action"):
        a = run_agent(DynaQPlus, {"kappa": 0.0, "plan_untried": False, "bonus": bonus, "planning_steps": 5}, prob, 4,
                      episodes=15)
        b = run_agent(DynaQ, {"planning_steps": 5}, prob, 4, episodes=15)
        assert np.array_equal(a.episode_steps, b.episode_steps)
        assert np.array_equal(a.agent.q, b.agent.q)


@pytest.mark.parametrize("bonus", ["planning", "action"])
def test_object_api_equals_compiled_runner_across_the_switch(bonus):
    env = gym.make("dynaplan/ShortcutMaze-v0", switch_at=700)
    params = {"kappa": 1e-3, "bonus": bonus, "planning_steps": 5, "alpha": 1.0}
    agent = DynaQPlus(env, seed=7, **params)
    obs, _ = env.reset(seed=7)
    rewards = []
    for _ in range(1500):
        a = agent.act(obs)
        nxt, r, term, trunc, _ = env.step(a)
        agent.observe(obs, a, r, nxt, term, trunc)
        rewards.append(r)
        obs = nxt
        if term or trunc:
            obs, _ = env.reset()
    res = run_agent(DynaQPlus, params, problem_of("dynaplan/ShortcutMaze-v0", switch_at=700), 7, steps=1500,
                    record_step_rewards=True)
    assert np.array_equal(np.array(rewards), res.step_rewards)
    assert np.array_equal(agent.q, res.agent.q)
    assert np.array_equal(agent.model.last_tried, res.agent.model.last_tried)


def test_greedy_path_length_matches_bfs_on_value_iteration():
    """The helper the summaries use gives the BFS shortest path for an optimal Q."""
    for env_id in ("dynaplan/BlockingMaze-v0", "dynaplan/ShortcutMaze-v0"):
        env = gym.make(env_id)
        world = problem_of(env_id).world
        for phase, layout in enumerate(env.unwrapped.layouts):
            sol = dynaplan.value_iteration(env.unwrapped.models[phase], gamma=0.95)
            length = shortest_path_length(layout.walls, layout.start, layout.goals)
            assert cm.greedy_path_length(sol.q, world, phase) == length


SEEDS = [int(s) for s in run_seeds(0, 30)]
PARAMS = {"alpha": 1.0, "planning_steps": 10, "epsilon": 0.1, "gamma": 0.95}


def _cells(env_id, steps):
    base = {"env": env_id, "steps": steps, "record_every": 10, "kappa": 5e-4, "kappa_action": 5e-4, **PARAMS}
    return {
        "dyna-q": {**base, "agent": "dyna-q"},
        "dyna-q-plus": {**base, "agent": "dyna-q-plus", "bonus": "planning"},
    }


def test_shortcut_maze_book_result():
    """Figure 8.5: after the shortcut opens, Dyna-Q+ finds it (greedy path 10 = BFS) in the large
    majority of 30 runs, Dyna-Q in almost none, and gains clearly more reward after the change."""
    cells = _cells("dynaplan/ShortcutMaze-v0", 6000)
    stats = {}
    for name, cell in cells.items():
        runs = cm.per_run(cm.run_cumulative_reward(cell, SEEDS))
        stats[name] = runs
    found = {k: float((v.greedy_path_end == 10).mean()) for k, v in stats.items()}
    assert found["dyna-q-plus"] >= 0.7
    assert found["dyna-q"] <= 0.1
    gap = stats["dyna-q-plus"].after_change.mean() - stats["dyna-q"].after_change.mean()
    se = np.sqrt(stats["dyna-q-plus"].after_change.var() / 30 + stats["dyna-q"].after_change.var() / 30)
    assert gap > 3 * se


def test_blocking_maze_book_result():
    """Figure 8.4: after the block moves, both agents recover (reach the goal again on the new
    path), Dyna-Q+ in every run and sooner (median steps to 3 goals after the change)."""
    cells = _cells("dynaplan/BlockingMaze-v0", 3000)
    runs = {name: cm.per_run(cm.run_cumulative_reward(cell, SEEDS)) for name, cell in cells.items()}
    plus, plain = runs["dyna-q-plus"], runs["dyna-q"]
    assert plus.steps_to_recover.notna().mean() >= 0.9
    assert plain.steps_to_recover.notna().mean() >= 0.25  # Dyna-Q recovers too, in many runs
    assert np.median(plus.steps_to_recover.fillna(np.inf)) < np.median(plain.steps_to_recover.fillna(np.inf))
    assert plus.after_change.mean() > plain.after_change.mean()


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (["--set", "kappa=-1"], "kappa"),
        (["--set", "record_every=7"], "record_every"),
        (["--set", "planning_steps=-1"], "planning_steps"),
        (["--set", "kapa=1"], "kapa"),
    ],
)
def test_reproduce_bad_options_one_line(sets, message, capsys, tmp_path):
    from dynaplan.cli import main

    assert main(["reproduce", "shortcut-maze", "--out", str(tmp_path), *sets]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
