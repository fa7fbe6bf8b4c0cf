"""The explorer's Python side, through its message protocol: tracing, frames, edits, refusals."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import urllib.error
import urllib.request

import gymnasium as gym
import numpy as np
import pytest

import dynaplan
from dynaplan.envs.layouts import MOVES
from dynaplan.explore.session import LAYOUTS, MAZE_10X10, Session, agent_catalog

CASES = [
    ("dyna-q", {"planning_steps": 10}),
    ("q-planning", {"planning_steps": 10}),
    ("dyna-q-plus", {"planning_steps": 10, "kappa": 1e-3}),
    ("dyna-q-plus", {"planning_steps": 10, "bonus": "action"}),
    ("dyna-q-plus", {"planning_steps": 10, "plan_untried": False}),
    ("prioritized-sweeping", {"planning_steps": 10, "alpha": 0.5}),
]


def _reference_run(name, params, seed, steps):
    """The same agent through the ordinary (untraced) object API on the same maze."""
    env = gym.make("dynaplan/GridMaze-v0", layout=MAZE_10X10)
    agent = dynaplan.AGENTS[name](env, seed=seed, **params)
    obs, _ = env.reset(seed=seed)
    for _ in range(steps):
        a = agent.act(obs)
        nxt, r, term, trunc, _ = env.step(a)
        agent.observe(obs, a, float(r), nxt, term, trunc)
        obs = env.reset()[0] if term or trunc else nxt
    return agent


@pytest.mark.parametrize(("name", "params"), CASES)
def test_traced_kernels_match_the_untraced_ones_bit_for_bit(name, params):
    session = Session(MAZE_10X10, agent=name, params=params, seed=7)
    lane = session.lanes[0]
    assert lane.traced is not None
    session.step(1500)
    ref = _reference_run(name, params, 7, 1500)
    assert np.array_equal(lane.agent.q, ref.q)
    assert np.array_equal(lane.agent.rng, ref.rng)
    assert np.array_equal(lane.agent.state.model.next_state, ref.state.model.next_state)


def _target(q, model, s, a, gamma):
    t = model.reward[s, a]
    if not model.terminated[s, a]:
        t += gamma * q[model.next_state[s, a]].max()
    return t


@pytest.mark.parametrize("name", ["dyna-q", "prioritized-sweeping"])
def test_replaying_the_trace_reproduces_the_q_table(name):
    """Each step's traced pairs, backed up in order (eq. 6.8, written here in plain Python), give Q after."""
    session = Session(MAZE_10X10, agent=name, params={"planning_steps": 5, "alpha": 0.5}, seed=2)
    lane = session.lanes[0]
    agent = lane.agent
    alpha, gamma = agent.params["alpha"], agent.params["gamma"]
    for _ in range(400):
        q = agent.q.copy()
        s = lane.s
        lane.step(session.world)
        s_, a_ = divmod(lane.direct[-1], 4)
        assert s_ == s
        model = agent.state.model
        if name == "dyna-q":
            q[s, a_] += alpha * (_target(q, model, s, a_, gamma) - q[s, a_])
        pairs = lane.trace[: len(lane.flashes)] if lane.flashes else []
        assert len(pairs) == len(lane.flashes)
        for pair in lane.flashes:
            ps, pa = divmod(pair, 4)
            assert model.next_state[ps, pa] >= 0  # planning only backs up pairs the model has
            q[ps, pa] += alpha * (_target(q, model, ps, pa, gamma) - q[ps, pa])
        assert np.allclose(q, agent.q, rtol=0, atol=1e-12)
        lane.flashes, lane.direct = [], []


def test_planning_counts_and_flashes_per_agent():
    session = Session(MAZE_10X10, agent="dyna-q", params={"planning_steps": 50}, seed=0)
    reply = session.handle({"type": "step", "steps": 20})
    lane = reply["lanes"][0]
    assert lane["counters"] == {"real_steps": 20, "planning_updates": 1000, "episodes": 0}
    assert len(lane["flashes"]) == lane["flash_total"] == 1000  # every backup, even those that change nothing
    assert len(lane["direct"]) == 20
    q0 = Session(MAZE_10X10, agent="q-learning", seed=0).handle({"type": "step", "steps": 20})["lanes"][0]
    assert q0["counters"]["planning_updates"] == 0 and q0["flashes"] == []


def test_frame_contents_against_the_agent():
    session = Session(agent="dyna-q-plus", params={"planning_steps": 5}, seed=1)
    frame = session.handle({"type": "step", "steps": 300})
    lane = frame["lanes"][0]
    agent = session.lanes[0].agent
    assert (frame["rows"], frame["cols"]) == (6, 9)
    assert lane["v"] == pytest.approx(agent.q.max(axis=1).tolist(), abs=1e-6)
    for s, a in enumerate(lane["arrows"]):
        row = agent.q[s]
        assert a == (-1 if row.max() == row.min() else int(np.argmax(row)))
    tried = agent.model.next_state >= 0
    assert lane["tried"] == [int(sum(1 << a for a in range(4) if tried[s, a])) for s in range(54)]
    assert lane["tau"] == agent.tau().ravel().tolist()
    assert frame["layout"] == list(session.layout.rows)
    json.dumps(frame)  # every frame is plain JSON


def test_prioritized_sweeping_queue_top():
    session = Session(MAZE_10X10, agent="prioritized-sweeping", params={"planning_steps": 1, "alpha": 1.0}, seed=0)
    longest = 0
    for _ in range(60):
        lane = session.handle({"type": "step", "steps": 50})["lanes"][0]
        pq = session.lanes[0].agent.state.queue
        n = int(pq.size[0])
        assert lane["queue_length"] == n
        priorities = sorted(pq.prio[:n].tolist(), reverse=True)[:8]
        assert [p for _, p in lane["queue"]] == pytest.approx(priorities, abs=1e-6)
        for pair, _ in lane["queue"]:
            assert pq.pos[pair] >= 0
        longest = max(longest, n)
    assert longest > 1  # with one update per real step the queue does fill up


def test_mcts_root_visits_and_reuse():
    # the book's tree (the default): the root's visits are the simulations of this decision plus
    # those kept from the subtree reused; reuse is the kept share of the root's visits
    session = Session(agent="mcts", params={"simulations": 40, "depth": 20}, seed=0)
    shares = []
    for _ in range(30):
        lane = session.handle({"type": "step", "steps": 1})["lanes"][0]
        root = lane["root"]
        total = sum(root["visits"])
        assert 40 <= total <= 40 * 31
        # the share of the root's visits that this search's 40 simulations did not make
        assert root["reused"] == pytest.approx(max(0.0, 1.0 - 40 / (total + 1)), abs=0.03)
        assert 1 < root["nodes"] <= total + 1
        shares.append(root["reused"])
    assert max(shares) > 0.0  # persistent: some decision started from a kept subtree
    fresh = Session(agent="mcts", params={"simulations": 40, "depth": 20, "persist": False}, seed=0)
    root = fresh.handle({"type": "step", "steps": 5})["lanes"][0]["root"]
    assert root["reused"] == 0.0 and sum(root["visits"]) == 40

    # the state-keyed table: a persistent table's root statistics are those of the table
    session = Session(agent="mcts", params={"simulations": 40, "depth": 20, "key": "state"}, seed=0)
    lane = session.handle({"type": "step", "steps": 30})["lanes"][0]
    tree = session.lanes[0].agent.tree
    root = lane["root"]
    assert sum(root["visits"]) == pytest.approx(tree.n[root["state"]].sum())
    assert 0.0 <= root["reused"] < 1.0
    assert root["nodes"] == int((tree.visits > 0).sum())
    fresh = Session(agent="mcts", params={"simulations": 40, "depth": 20, "persist": False, "key": "state"}, seed=0)
    root = fresh.handle({"type": "step", "steps": 5})["lanes"][0]["root"]
    # without persistence nothing is reused; a state-keyed tree revisits its root inside simulations
    assert root["reused"] == 0.0 and sum(root["visits"]) >= 40


def test_every_registered_agent_runs_in_the_explorer():
    catalog = agent_catalog()
    tabular = {n for n, cls in dynaplan.AGENTS.items() if cls.family == "tabular"}
    assert set(catalog) == tabular and "sarsa" in dynaplan.AGENTS  # linear agents draw no Q table per state
    for name, entry in catalog.items():
        # the form edits scalar parameters; one whose default is None ("automatic") keeps its default
        defaults = dynaplan.AGENTS[name].check_params({})
        assert entry["params"] == {k: v for k, v in defaults.items() if v is not None}
        small = {"simulations": 10, "depth": 10} if "simulations" in entry["params"] else {}
        session = Session(agent=name, params=small, seed=0)
        lane = session.handle({"type": "step", "steps": 5})["lanes"][0]
        assert lane["counters"]["real_steps"] == 5, name


def _walls_and_positions(session, steps):
    n_cols = session.layout.shape[1]
    seen = []
    for _ in range(steps):
        session.step(1)
        seen.append(session.lanes[0].s)
    return {r * n_cols + c for r, c in zip(*np.nonzero(session.layout.walls))}, seen


def test_walls_drawn_while_running_are_respected():
    session = Session(agent="dyna-q", params={"planning_steps": 5}, seed=4)
    session.step(200)
    wall = [[3, 3], [3, 4], [3, 5], [3, 6]]
    session.lanes[0].s = 0  # keep the agent off the new wall (a wall under it would be walked out of)
    reply = session.handle({"type": "edit", "tool": "wall", "cells": wall})
    assert reply["type"] == "frame" and reply["layout"][3] == "..#####.."
    walls, seen = _walls_and_positions(session, 3000)
    assert not walls & set(seen)
    assert session.lanes[0].real_steps == 3200  # the agent kept learning across the change
    # the learned model still believes the old world until it tries again (section 8.3)
    reply = session.handle({"type": "edit", "tool": "free", "cells": wall})
    assert reply["layout"][3] == "..#......"


def test_edits_that_break_the_maze_are_refused_and_change_nothing():
    session = Session(seed=0)
    before = session.layout
    cut = [[r, 7] for r in range(3, 6)]  # with the wall at rows 0-2 of column 7 this seals the goal off
    reply = session.handle({"type": "edit", "tool": "wall", "cells": cut, "id": 9})
    assert reply == {"type": "error", "message": "edit:3:1: no goal can be reached from the start", "id": 9}
    assert session.layout is before
    assert session.handle({"type": "edit", "tool": "wall", "cells": [[6, 0]]})["message"].startswith(
        "edit: cell (6, 0) is outside")
    # start and goal move; walls never overwrite them
    assert session.handle({"type": "edit", "tool": "start", "cells": [[5, 0]]})["layout"][5][0] == "S"
    assert session.handle({"type": "edit", "tool": "wall", "cells": [[5, 0], [0, 8]]})["layout"][5][0] == "S"
    assert session.lanes[0].start == 5 * 9


MALFORMED = [
    ([1, 2], "a message must be a JSON object"),
    ({"steps": 3}, "unknown message type None"),
    ({"type": "exec", "code": "import os"}, "unknown message type 'exec'"),
    ({"type": "step"}, "step: missing key(s) steps"),
    ({"type": "step", "steps": 3, "shell": "rm"}, "step: unknown key(s) shell"),
    ({"type": "step", "steps": "3"}, "step.steps: expected an integer"),
    ({"type": "step", "steps": 10**9}, "step.steps: expected an integer in [1, 10000]"),
    ({"type": "step", "steps": True}, "step.steps: expected an integer"),
    ({"type": "configure", "lanes": []}, "configure.lanes: expected a list of 1 to 2 agents"),
    ({"type": "configure", "lanes": [{"agent": "os.system"}]}, "unknown agent 'os.system'"),
    ({"type": "configure", "lanes": [{"agent": "dyna-q", "params": {"alpha": 1.5}}]}, "alpha must be in (0, 1]"),
    ({"type": "configure", "lanes": [{"agent": "dyna-q", "params": {"__class__": 1}}]}, "unknown parameter(s)"),
    ({"type": "configure", "lanes": [{"agent": "dyna-q", "params": {"alpha": [1]}}]}, "expected a number, text"),
    ({"type": "configure", "lanes": [{"agent": "dyna-q"}], "seed": -1}, "configure.seed"),
    ({"type": "layout", "name": "nope"}, "layout: unknown layout 'nope'"),
    ({"type": "layout", "text": "S.x\n..G"}, "layout:1:3: unknown character 'x'"),
    ({"type": "layout", "name": "dyna-maze", "text": "S.G"}, "layout: give exactly one of name or text"),
    ({"type": "edit", "tool": "lava", "cells": [[0, 0]]}, "edit.tool: expected one of wall"),
    ({"type": "edit", "tool": "wall", "cells": [[0, "0"]]}, "edit.cells[0]: expected [row, col] integers"),
    ({"type": "edit", "tool": "wall", "cells": []}, "edit.cells: expected a list of 1 to"),
    ({"type": "hello", "id": "x"}, "id must be an integer"),
]


@pytest.mark.parametrize(("msg", "error"), MALFORMED)
def test_malformed_messages_are_refused_with_one_line(msg, error):
    session = Session(seed=0)
    session.step(10)
    q, layout, configs = session.lanes[0].agent.q.copy(), session.layout, session.configs
    reply = session.handle(msg)
    assert reply["type"] == "error"
    assert error in reply["message"] and "\n" not in reply["message"]
    assert np.array_equal(session.lanes[0].agent.q, q) and session.layout is layout and session.configs is configs
    assert session.lanes[0].real_steps == 10


def test_hello_configure_layout_reset_protocol():
    session = Session(seed=0)
    init = session.handle({"type": "hello", "id": 1})
    assert init["type"] == "init" and init["id"] == 1
    assert set(init["agents"]) == set(agent_catalog()) and init["layouts"] == LAYOUTS
    assert init["config"] == {"lanes": [{"agent": "dyna-q", "params": {}}], "seed": 0}
    lanes = [{"agent": "dyna-q", "params": {"planning_steps": n}} for n in (0, 50)]
    frame = session.handle({"type": "configure", "lanes": lanes, "seed": 5})
    assert [ln["params"]["planning_steps"] for ln in frame["lanes"]] == [0, 50]
    frame = session.handle({"type": "step", "steps": 100})
    a, b = frame["lanes"]
    assert a["counters"]["real_steps"] == b["counters"]["real_steps"] == 100
    assert a["counters"]["planning_updates"] == 0 and b["counters"]["planning_updates"] == 5000
    frame = session.handle({"type": "layout", "name": "shortcut-maze (before)"})
    assert (frame["rows"], frame["cols"]) == (6, 9) and all(ln["counters"]["real_steps"] == 0 for ln in frame["lanes"])
    session.step(10)
    assert session.handle({"type": "reset"})["lanes"][0]["counters"]["real_steps"] == 0


def test_side_by_side_n0_n50():
    """The seed's demonstration (Figure 8.3), checked on the true maze.

    With n = 0, after the first episode exactly one pair has a non-zero value, the one that
    entered the goal (every other backup of one-step Q-learning saw reward 0 and zero values).
    With n = 50, 100 real steps into the second episode, the greedy policy from the start walks
    to the goal.
    """
    session = Session(seed=0)
    session.handle({"type": "configure", "lanes": [{"agent": "dyna-q", "params": {"planning_steps": 0}},
                                                   {"agent": "dyna-q", "params": {"planning_steps": 50}}]})
    direct, planner = session.lanes
    while not direct.episodes:
        direct.step(session.world)
    assert np.count_nonzero(direct.agent.q) == 1
    layout = session.layout
    n_cols = layout.shape[1]
    goal_states = {r * n_cols + c for r, c in layout.goals}
    (s_goal,) = {int(x) for x in np.nonzero(direct.agent.q.max(axis=1))[0]}
    assert any(int(session.world.next_state[s_goal, a, 0]) in goal_states for a in range(4))
    while not planner.episodes:
        planner.step(session.world)
    for _ in range(100):
        planner.step(session.world)
    q50 = planner.agent.q
    r, c = layout.start
    for _ in range(layout.n_open):
        if (r, c) in layout.goals:
            break
        dr, dc = MOVES[int(np.argmax(q50[r * n_cols + c]))]
        if 0 <= r + dr < layout.shape[0] and 0 <= c + dc < n_cols and not layout.walls[r + dr, c + dc]:
            r, c = r + dr, c + dc
    assert (r, c) in layout.goals


def test_server_answers_and_refuses():
    from dynaplan.explore.server import make_server

    server = make_server(Session(seed=0), "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        page = urllib.request.urlopen(base + "/").read().decode()
        assert 'import widget from "./explorer.js"' in page
        assert "https://" not in urllib.request.urlopen(base + "/explorer.js").read().decode()  # nothing fetched

        def post(body: bytes) -> tuple[int, dict]:
            req = urllib.request.Request(base + "/api", data=body, headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(req) as r:
                    return r.status, json.loads(r.read())
            except urllib.error.HTTPError as e:
                return e.code, json.loads(e.read())

        status, reply = post(json.dumps({"type": "step", "steps": 3, "id": 4}).encode())
        assert status == 200 and reply["id"] == 4 and reply["lanes"][0]["counters"]["real_steps"] == 3
        status, reply = post(b"{not json")
        assert status == 400 and reply["message"].startswith("malformed message: not JSON")
        status, reply = post(b"\xff\xfe")
        assert status == 400 and reply["type"] == "error"
        req = urllib.request.Request(base + "/api", data=b'{"type": "step", "steps": 1}',
                                     headers={"Content-Type": "text/plain"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(req)
        assert refused.value.code == 415
        status, reply = post(json.dumps({"type": "step", "steps": "__import__('os')"}).encode())
        assert status == 400 and "step.steps" in reply["message"]
        for path in ("/../pyproject.toml", "/session.py", "/static/explorer.js"):
            with pytest.raises(urllib.error.HTTPError) as exc:
                urllib.request.urlopen(base + path)
            assert exc.value.code == 404
    finally:
        server.shutdown()
        server.server_close()


def test_widget_speaks_the_same_protocol():
    from dynaplan import Explorer

    sent = []
    w = Explorer(agent="dyna-q", params={"planning_steps": 0}, compare=("dyna-q", {"planning_steps": 50}), seed=3)
    w.send = sent.append  # what would go to the front end
    w._on_message(w, {"type": "hello", "id": 1}, [])
    w._on_message(w, {"type": "step", "steps": 25, "id": 2}, [])
    w._on_message(w, {"type": "step", "steps": "lots", "id": 3}, [])
    assert [m["type"] for m in sent] == ["init", "frame", "error"] and [m["id"] for m in sent] == [1, 2, 3]
    assert [ln["counters"]["planning_updates"] for ln in sent[1]["lanes"]] == [0, 1250]
    frame = w.step(5)
    assert sent[-1] is frame and frame["lanes"][0]["counters"]["real_steps"] == 30


def test_import_dynaplan_does_not_import_anywidget():
    code = "import sys, dynaplan, dynaplan.explore; assert 'anywidget' not in sys.modules; print('ok')"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_cli_explore_bad_input_is_one_line(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("S.x\n..G\n")
    missing = tmp_path / "no.txt"
    for argv in (["explore", "--maze", str(bad)], ["explore", "--agent", "nope"], ["explore", "--maze", str(missing)]):
        proc = subprocess.run([sys.executable, "-m", "dynaplan.cli", *argv], capture_output=True, text=True, timeout=60)
        assert proc.returncode == 2, (argv, proc.stderr)
        assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
