"""The explorer's drawing rate in a real browser, and what a frame costs on the Python side.

    python benchmarks/explorer.py              # 5 s of drawing in headless Chromium
    python benchmarks/explorer.py --seconds 2

Target (issue 15): at least 30 frames per second on a 10 x 10 maze while at least 1,000 planning
backups per second are drawn. The page runs Dyna-Q with n = 50 on the 10 x 10 maze at one real
step per frame, served by ``dynaplan explore``'s server, in Debian's headless Chromium (the same
helper as the browser test); the page counts the frames it draws and the flashed backups.

Beside it, the Python side of one frame (the ``step`` message: one real step, 50 traced
planning updates, the frame built and JSON-encoded), and a real step of the tracing twin against
the untraced kernel through the object API (the same work; the untraced kernels are not changed).
Exits 1 if the target is missed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import gymnasium as gym
import numpy as np

import dynaplan
from dynaplan.explore.browser import chromium, measure, serving
from dynaplan.explore.session import MAZE_10X10, Session

EL = "document.querySelector('.dynaplan-explorer').explorer"


def python_side(repeats: int = 2000) -> tuple[float, float, float]:
    """(ms per step message with its JSON frame, us per traced real step, us per untraced real step)."""
    session = Session(MAZE_10X10, agent="dyna-q", params={"planning_steps": 50}, seed=0)
    session.step(2000)
    t = time.perf_counter()
    for _ in range(200):
        json.dumps(session.handle({"type": "step", "steps": 1}))
    per_message = (time.perf_counter() - t) / 200 * 1e3

    lane = session.lanes[0]
    t = time.perf_counter()
    for _ in range(repeats):
        lane.step(session.world)
    traced = (time.perf_counter() - t) / repeats * 1e6

    env = gym.make("dynaplan/GridMaze-v0", layout=MAZE_10X10)
    agent = dynaplan.DynaQ(env, planning_steps=50, seed=0)
    obs, _ = env.reset(seed=0)
    world = session.world
    for _ in range(2000):
        a = agent.act(obs)
        nxt = int(world.next_state[obs, a, 0])
        agent.observe(obs, a, float(world.reward[obs, a, 0]), nxt, bool(world.terminated[obs, a, 0]))
        obs = lane.start if world.terminated[obs, a, 0] else nxt
    t = time.perf_counter()
    for _ in range(repeats):
        a = agent.act(obs)
        nxt = int(world.next_state[obs, a, 0])
        term = bool(world.terminated[obs, a, 0])
        agent.observe(obs, a, float(world.reward[obs, a, 0]), nxt, term)
        obs = lane.start if term else nxt
    untraced = (time.perf_counter() - t) / repeats * 1e6
    return per_message, traced, untraced


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0, help="how long to measure the page")
    args = parser.parse_args()

    per_message, traced, untraced = python_side()
    print("Python side, 10 x 10 maze, Dyna-Q n = 50:")
    print(f"  step message (1 real step + 50 planning updates + frame as JSON): {per_message:.3f} ms")
    print(f"  real step, tracing twin (records the 50 pairs): {traced:.1f} us; untraced object API: {untraced:.1f} us")

    session = Session(MAZE_10X10, agent="dyna-q", params={"planning_steps": 50}, seed=0)
    with serving(session) as url, chromium() as page:
        page.goto(url)
        page.wait_for_function(f"() => {EL}.state.frame !== null", timeout=60_000)
        page.evaluate("() => { const s = document.querySelector('.dp-speed'); s.value = '2';"
                      " s.dispatchEvent(new Event('input')); }")
        page.click("button.dp-run")
        page.wait_for_function(f"() => {EL}.state.stats.totalFrames > 30", timeout=60_000)
        rates = measure(page, args.seconds)
        page.click("button.dp-pause")
        steps = session.lanes[0].real_steps
    ok = rates.frames_per_second >= 30 and rates.backups_per_second >= 1000
    print(f"headless Chromium ({rates.seconds:.1f} s, 1 real step per frame, {steps} real steps in all):")
    print(f"  {rates.frames_per_second:.1f} frames/s (target >= 30), "
          f"{rates.backups_per_second:.0f} planning backups drawn/s (target >= 1,000): {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    np.seterr(all="ignore")
    sys.exit(main())
