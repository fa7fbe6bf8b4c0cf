"""Racetrack-v0: the track of Figure 5.5 (left) and the rules of Exercise 5.12."""

from collections import defaultdict, deque

import gymnasium as gym
import numpy as np
import pytest

from dynaplan.envs.racetrack import ACTIONS, FIGURE_5_5_LEFT, parse_track, racetrack_model
from dynaplan.envs.tabular import model_of
from dynaplan.planning.value_iteration import value_iteration

TRACK = parse_track(FIGURE_5_5_LEFT)
G = TRACK.grid  # 0 outside, 1 track, 2 start, 3 finish


def test_track_is_figure_5_5_left():
    assert G.shape == (32, 18)  # 17 columns of track grid + the finish line column
    assert TRACK.n_track_cells == 298
    assert TRACK.starts == [(31, c) for c in range(3, 9)]
    assert [tuple(x) for x in np.argwhere(G == 3)] == [(r, 17) for r in range(6)]
    # widths of the track, row by row, top to bottom
    widths = [(r, int(np.isin(G[r], (1, 2)).sum())) for r in range(32)]
    assert [w for _, w in widths] == [14, 15, 15, 16, 17, 17, 10] + [9] * 7 + [8] * 8 + [7] * 7 + [6] * 3


def _rule_step(r, c, vx, vy):
    """Independent statement of the move: ('land', r2, c2) | ('finish',) | ('crash',).

    Points i/n (n = 4 max(vx, vy)) of the segment between cell centres, in order; a point on
    a boundary belongs to the cell below / to the right.
    """
    n = 4 * max(vx, vy)
    for i in range(1, n + 1):
        y = (2 * r + 1) * n - 2 * vy * i  # 2n * row coordinate
        x = (2 * c + 1) * n + 2 * vx * i
        row, col = (y // (2 * n), x // (2 * n)) if y >= 0 else (-1, -1)
        if not (0 <= row < G.shape[0] and 0 <= col < G.shape[1]):
            return ("crash",)
        if G[row, col] == 3:
            return ("finish",)
        if G[row, col] == 0:
            return ("crash",)
    return ("land", r - vy, c + vx)


def _expected_outcomes(state, action, noise, index, starts):
    r, c, vx, vy = state
    ax, ay = ACTIONS[action]
    out = defaultdict(float)
    for p, (dx, dy) in ((1 - noise, (ax, ay)), (noise, (0, 0))):
        if p == 0:
            continue
        nvx, nvy = min(max(vx + dx, 0), 4), min(max(vy + dy, 0), 4)
        if nvx == nvy == 0 and G[r, c] != 2:
            nvx, nvy = vx, vy
        move = _rule_step(r, c, nvx, nvy)
        if move[0] == "finish":
            out[("end",)] += p
        elif move[0] == "crash":
            for s0 in starts:
                out[(s0,)] += p / len(starts)
        else:
            out[(index[(move[1], move[2], nvx, nvy)],)] += p
    return out


@pytest.mark.parametrize("noise", [0.0, 0.1])
def test_model_follows_the_rules(noise):
    """Every (state, action) of the dense model against the rules stated independently."""
    rm = racetrack_model(noise=noise)
    m = rm.model
    states = [tuple(int(x) for x in row) for row in rm.states]
    index = {s: i for i, s in enumerate(states)}
    # the state set: track cells x velocities in 0..4, not both zero except on the starting line
    cells = {(int(r), int(c)) for r, c in np.argwhere(np.isin(G, (1, 2)))}
    want = {(r, c, vx, vy) for r, c in cells for vx in range(5) for vy in range(5) if vx + vy > 0 or G[r, c] == 2}
    assert set(states) == want and len(states) == 298 * 24 + 6
    starts = [index[(31, c, 0, 0)] for c in range(3, 9)]
    assert sorted(rm.start_states) == sorted(starts)
    np.testing.assert_allclose(m.start[starts], 1 / 6)
    assert np.all(m.reward[m.prob > 0] == -1.0)
    for s, state in enumerate(states):
        for a in range(9):
            got = defaultdict(float)
            for k in range(m.prob.shape[2]):
                if m.prob[s, a, k] > 0:
                    got[("end",) if m.terminated[s, a, k] else (int(m.next_state[s, a, k]),)] += m.prob[s, a, k]
            want_out = _expected_outcomes(state, a, noise, index, starts)
            assert got.keys() == want_out.keys(), (state, ACTIONS[a])
            for key in got:
                assert abs(got[key] - want_out[key]) < 1e-12


def test_hand_checked_moves():
    rm = racetrack_model(noise=0.0)
    index = {tuple(int(x) for x in row): i for i, row in enumerate(rm.states)}
    m = rm.model
    up = ACTIONS.index((0, 1))
    s = index[(31, 3, 0, 0)]  # on the starting line, accelerate upwards: one cell up
    assert m.next_state[s, up, 0] == index[(30, 3, 0, 1)]
    s = index[(2, 14, 2, 0)]  # two cells right of (2, 14) is (2, 16); +1 -> 3 right crosses
    keep = ACTIONS.index((0, 0))
    assert m.next_state[s, keep, 0] == index[(2, 16, 2, 0)] and not m.terminated[s, keep, 0]
    faster = ACTIONS.index((1, 0))
    assert m.terminated[s, faster, 0] and m.prob[s, faster, 0] == 1.0
    s = index[(10, 8, 1, 0)]  # right of column 8 below row 6 is outside: back to the start line
    targets = {int(m.next_state[s, keep, k]) for k in range(m.prob.shape[2]) if m.prob[s, keep, k] > 0}
    assert targets == {index[(31, c, 0, 0)] for c in range(3, 9)}
    s = index[(5, 10, 0, 1)]  # moving up into the top-right region: (4, 10) is track
    assert m.next_state[s, keep, 0] == index[(4, 10, 0, 1)]


def test_optimal_steps_match_breadth_first_search():
    """Noise 0: value iteration's -v(start) equals the BFS shortest path over the rules."""
    rm = racetrack_model(noise=0.0)
    sol = value_iteration(rm.model, 1.0, tol=1e-9)
    # BFS backwards is awkward; forward BFS from each start over the rule simulator instead
    for c0 in range(3, 9):
        dist = {(31, c0, 0, 0): 0}
        queue = deque([(31, c0, 0, 0)])
        best = None
        while queue and best is None:
            st = queue.popleft()
            r, c, vx, vy = st
            for ax, ay in ACTIONS:
                nvx, nvy = min(max(vx + ax, 0), 4), min(max(vy + ay, 0), 4)
                if nvx == nvy == 0 and G[r, c] != 2:
                    nvx, nvy = vx, vy
                move = _rule_step(r, c, nvx, nvy)
                if move[0] == "finish":
                    best = dist[st] + 1
                    break
                if move[0] == "land":
                    nxt = (move[1], move[2], nvx, nvy)
                    if nxt not in dist:
                        dist[nxt] = dist[st] + 1
                        queue.append(nxt)
        s = next(i for i, row in enumerate(rm.states) if tuple(row) == (31, c0, 0, 0))
        assert abs(-sol.v[s] - best) < 1e-6


def test_env_is_registered_and_exposes_the_model():
    env = gym.make("dynaplan/Racetrack-v0", render_mode="ansi")
    obs, _ = env.reset(seed=0)
    assert env.unwrapped.decode(obs)[2:] == (0, 0)
    assert model_of(env).n_states == 298 * 24 + 6
    assert "C" in env.render()


def test_bad_layout_and_noise():
    with pytest.raises(ValueError, match="line 1, column 2"):
        parse_track("#x\nSF\n")
    with pytest.raises(ValueError, match="finish"):
        parse_track("#S.\n")
    with pytest.raises(ValueError, match="noise"):
        racetrack_model(noise=1.0)


@pytest.mark.parametrize("env_id", ["dynaplan/Racetrack-v0", "dynaplan/RandomMDP-v0"])
def test_step_draws_as_the_P_table(env_id):
    """Stepping from the dense arrays picks what Gymnasium's categorical_sample picks from P."""
    from gymnasium.envs.toy_text.utils import categorical_sample

    env = gym.make(env_id).unwrapped
    P = env.P
    obs, _ = env.reset(seed=4)
    gen = np.random.default_rng(4)
    categorical_sample(env.initial_state_distrib, gen)  # the reset draw
    actions = np.random.default_rng(1).integers(0, env.action_space.n, 500)
    for a in actions:
        outcomes = P[obs][int(a)]
        p, s2, r, done = outcomes[categorical_sample([o[0] for o in outcomes], gen)]
        obs, r_env, done_env, _, info = env.step(int(a))
        assert (obs, r_env, done_env, info["prob"]) == (s2, r, done, p)
        if done:
            obs, _ = env.reset()
            categorical_sample(env.initial_state_distrib, gen)
