"""Pictures: each PNG/GIF is produced, decodes, is not blank, has the expected size; the arrows on
screen point the way ``agent.greedy_action`` says, for every state; Figure 8.3's content."""

import gymnasium as gym
import numpy as np
import pandas as pd
from PIL import Image

from dynaplan import DynaQ, DynaQPlus
from dynaplan.cli import main
from dynaplan.envs.layouts import MOVES
from dynaplan.experiments.reproductions import dyna_maze_policies as dp
from dynaplan.plot import animation as an
from dynaplan.plot import maze as pm
from dynaplan.rng import run_seeds


def trained(cls=DynaQ, episodes=3, seed=1, env_id="dynaplan/DynaMaze-v0", **params):
    env = gym.make(env_id)
    agent = cls(env, seed=seed, planning_steps=params.pop("planning_steps", 20), **params)
    agent.run_episode(env, seed=seed)
    for _ in range(episodes - 1):
        agent.run_episode(env)
    return env, agent


def not_blank(img):
    arr = np.asarray(img.convert("RGB")).astype(float)
    return arr.std() > 10 and len(np.unique(arr.reshape(-1, 3), axis=0)) > 8


def test_arrows_on_screen_agree_with_greedy_action_for_every_state():
    env, agent = trained()
    layout = env.unwrapped.layout
    plt = pm.pyplot()
    fig, ax = plt.subplots()
    quiver = pm.draw_policy(ax, layout, agent.q)
    fig.canvas.draw()
    n_cols = layout.shape[1]
    goals = {r * n_cols + c for r, c in layout.goals}
    offsets = np.asarray(quiver.get_offsets())
    drawn = {}
    for (x, y), u, v in zip(offsets, np.asarray(quiver.U), np.asarray(quiver.V), strict=True):
        col, row = round(float(x)), round(float(y))  # the arrow sits inside its cell
        s = row * n_cols + col
        assert s not in drawn
        # which neighbouring cell does the arrow point to on screen?
        centre = ax.transData.transform((col, row))
        best, best_dot = None, -np.inf
        for a, (dr, dc) in enumerate(MOVES):
            d = ax.transData.transform((col + dc, row + dr)) - centre
            dot = (u * d[0] + v * d[1]) / np.hypot(*d)
            if dot > best_dot:
                best, best_dot = a, dot
        assert best_dot > 0.99 * np.hypot(u, v)  # points straight at that neighbour
        drawn[s] = best
    plt.close(fig)
    expected = {
        s: agent.greedy_action(s)
        for s in range(agent.n_states)
        if not layout.walls[divmod(s, n_cols)] and s not in goals and np.ptp(agent.q[s]) > 0
    }
    assert len(expected) > 5
    assert drawn == expected


def test_policy_text_agrees_with_greedy_action():
    env, agent = trained(episodes=4)
    layout = env.unwrapped.layout
    lines = pm.policy_text(layout, agent.q).splitlines()
    assert len(lines) == 6 and all(len(line) == 9 for line in lines)
    for s in range(agent.n_states):
        r, c = divmod(s, 9)
        ch = lines[r][c]
        if ch in "^v<>":
            assert "^v<>".index(ch) == agent.greedy_action(s)
        elif ch == ".":
            assert np.ptp(agent.q[s]) == 0
        else:
            assert ch == layout.rows[r][c]


def test_policy_png(tmp_path):
    env, agent = trained()
    path = pm.policy_figure(env.unwrapped.layout, agent.q, tmp_path / "p.png", title="x", agent_state=3)
    img = Image.open(path)
    img.load()
    assert img.format == "PNG" and img.size == (635, 410)
    assert not_blank(img)


def test_model_png(tmp_path):
    env, agent = trained(DynaQPlus, env_id="dynaplan/BlockingMaze-v0", kappa=5e-4, alpha=1.0)
    path = pm.model_figure(env.unwrapped.layout, agent.model.last_tried, agent.steps, tmp_path / "m.png")
    img = Image.open(path)
    img.load()
    assert img.format == "PNG" and img.size == (1170, 430)
    assert not_blank(img)


def test_gif_frames(tmp_path):
    env = gym.make("dynaplan/ShortcutMaze-v0", switch_at=100)
    agent = DynaQPlus(env, seed=2, alpha=1.0, planning_steps=5)
    snaps = an.record_run(env, agent, 300, every=an.frame_every(300, 12), seed=2)
    assert [s.step for s in snaps] == list(range(0, 301, 25))
    assert snaps[0].layout is not snaps[-1].layout  # the shortcut opened at step 100
    path = an.write_gif(snaps, tmp_path / "run.gif", title="t")
    img = Image.open(path)
    assert img.format == "GIF" and img.size == (392, 304) and img.n_frames == len(snaps)
    frames = []
    for i in range(img.n_frames):
        img.seek(i)
        frame = img.convert("RGB")
        assert not_blank(frame)
        frames.append(np.asarray(frame))
    assert not np.array_equal(frames[0], frames[-1])


def test_show_command(tmp_path, capsys):
    out = tmp_path / "run.gif"
    args = ["show", "--env", "dynaplan/ShortcutMaze-v0", "--steps", "200", "--frames", "5", "--out", str(out)]
    assert main(args) == 0
    img = Image.open(out)
    assert img.n_frames == 6
    assert main(["show", "--agent", "dyna-q", "--steps", "100", "--out", str(tmp_path / "p.png")]) == 0
    assert Image.open(tmp_path / "p.png").size == (635, 410)
    assert Image.open(tmp_path / "p-model.png").format == "PNG"
    assert main(["show", "--env", "FrozenLake-v1"]) == 2
    assert main(["show", "--agent", "dyna-q", "--kappa", "0.1"]) == 2
    assert main(["show", "--out", str(tmp_path / "x.jpg")]) == 2


def test_figure_8_3_policies():
    """Without planning the policy after an episode and a half covers about one state (each
    episode adds one step back from the goal); with n = 50 it covers much of the maze."""
    seeds = [int(s) for s in run_seeds(0, 6)]
    base = {"env": "dynaplan/DynaMaze-v0", "agent": "dyna-q", "episode": 2, "fraction": 0.5,
            "alpha": 0.1, "epsilon": 0.1, "gamma": 0.95}
    table = pd.concat(
        [dp.run_policy_snapshot({**base, "planning_steps": n}, seeds) for n in (0, 50)], ignore_index=True
    )
    per = table[table.greedy_action >= 0].groupby(["planning_steps", "seed"]).size().unstack(0).fillna(0)
    assert (per[0] <= 2).all()
    assert (per[50] >= 5).all() and per[50].mean() >= 10
    snap = table.groupby(["planning_steps", "seed"]).first()
    # halfway: the snapshot lies inside episode 2
    assert ((snap.snapshot_step > snap.episode_1_steps) & (snap.snapshot_step < snap.episode_1_steps
                                                             + snap.episode_2_steps)).all()


def test_figure_8_3_png(tmp_path):
    seeds = [int(s) for s in run_seeds(0, 1)]
    base = {"env": "dynaplan/DynaMaze-v0", "agent": "dyna-q", "episode": 2, "fraction": 0.5}
    table = pd.concat([dp.run_policy_snapshot({**base, "planning_steps": n}, seeds) for n in (0, 50)])
    q = dp.q_of(table[table.planning_steps == 50])
    rows = table[table.planning_steps == 50].sort_values("state")
    has = rows.greedy_action.to_numpy() >= 0
    assert (np.argmax(q, axis=1)[has] == rows.greedy_action.to_numpy()[has]).all()
    img = Image.open(dp.figure(table, tmp_path / "f.png"))
    img.load()
    assert img.format == "PNG" and not_blank(img)
