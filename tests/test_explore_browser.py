"""The explorer's standalone page in a real browser (Debian's headless Chromium, via Playwright).

No browser is downloaded: ``/usr/bin/chromium`` must be installed (``.ci/run`` installs it), and
without it this test fails. It draws a wall, runs Dyna-Q with n = 50 and checks what the page
shows against the session's ground truth, sends malformed messages, runs two agents side by
side and saves the screenshot of the README and docs/guide/watch.md (``docs/explorer.png`` when
``DYNAPLAN_UPDATE_DOCS=1``).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from dynaplan.explore.browser import CHROMIUM, chromium, measure, serving
from dynaplan.explore.session import MAZE_10X10, Session

DOCS = Path(__file__).resolve().parents[1] / "docs"
EL = "document.querySelector('.dynaplan-explorer').explorer"


def _wait(page, js: str, timeout: float = 60.0) -> None:
    page.wait_for_function(js, timeout=timeout * 1000)


def _canvas(page, lane: int = 0) -> str:
    return page.evaluate(f"() => document.querySelectorAll('canvas.dp-maze')[{lane}].toDataURL()")


def _chart(page) -> str:
    return page.evaluate("() => document.querySelector('.dp-chart').toDataURL()")


def _counters(page, lane: int = 0) -> dict[str, int]:
    data = page.evaluate(f"() => ({{...document.querySelectorAll('.dp-counters')[{lane}].dataset}})")
    names = {"realSteps": "real_steps", "planningUpdates": "planning_updates", "episodes": "episodes"}
    return {names[k]: int(v) for k, v in data.items() if k in names}


def _drag(page, cells: list[tuple[int, int]]) -> None:
    """Press on the first cell, move through the others, release: one wall stroke."""
    box = page.locator("canvas.dp-maze").first.bounding_box()
    cell = page.evaluate(f"() => {EL}.state.lanes[0].cell")
    width = page.evaluate("() => document.querySelector('canvas.dp-maze').width")
    scale = box["width"] / width

    def at(r: int, c: int) -> tuple[float, float]:
        return box["x"] + (c + 0.5) * cell * scale, box["y"] + (r + 0.5) * cell * scale

    page.mouse.move(*at(*cells[0]))
    page.mouse.down()
    for r, c in cells[1:]:
        page.mouse.move(*at(r, c), steps=3)
    page.mouse.up()


def _set_param(page, lane: int, name: str, value: str) -> None:
    page.locator(".dp-agent-form").nth(lane).locator(f"input[data-param='{name}']").fill(value)


def test_chromium_is_installed():
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: apt-get install -y chromium"


def test_page_draws_planning_and_respects_walls():
    session = Session(seed=3)
    wall = [(4, 1), (4, 2), (4, 3), (4, 4)]
    with serving(session) as url, chromium() as page:
        page.goto(url)
        page.wait_for_selector("canvas.dp-maze")
        _wait(page, f"() => {EL}.state.frame !== null")
        empty = _canvas(page)

        # draw a wall with the mouse: the server's maze has it and the canvas shows it
        page.click("button[data-tool='wall']")
        _drag(page, wall)
        _wait(page, f"() => {EL}.state.frame.layout[4].slice(1, 5) === '####'")
        assert [session.layout.rows[r][c] for r, c in wall] == ["#"] * 4
        assert _canvas(page) != empty

        # Dyna-Q with n = 50
        page.select_option(".dp-agent", "dyna-q")
        _set_param(page, 0, "planning_steps", "50")
        page.click("button.dp-apply")
        _wait(page, f"() => {EL}.state.frame.lanes[0].params.planning_steps === 50")
        assert session.lanes[0].agent.params["planning_steps"] == 50
        before_canvas, before_chart = _canvas(page), _chart(page)
        page.evaluate("() => { document.querySelector('.dp-speed').value = '4';"
                      " document.querySelector('.dp-speed').dispatchEvent(new Event('input')); }")
        page.click("button.dp-run")
        seen: set[int] = set()
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            seen.update(page.evaluate(f"() => {EL}.state.frame.lanes[0].trail"))
            if _counters(page)["episodes"] >= 3:
                break
            time.sleep(0.05)
        page.click("button.dp-pause")
        # the step requests already in flight when paused still land: wait until they have and are drawn
        _wait(page, f"() => {EL}.state.inflight === 0 && {EL}.state.queue.length === 0 && !{EL}.state.dirty")
        counters = _counters(page)
        assert counters["episodes"] >= 3, counters
        lane = session.lanes[0]
        # the page shows the session's own counts; every real step made exactly n = 50 planning updates
        assert counters["real_steps"] == lane.real_steps > 0
        assert counters["planning_updates"] == 50 * lane.real_steps
        assert counters["episodes"] == len(lane.episodes)
        assert _canvas(page) != before_canvas
        assert _chart(page) != before_chart
        assert int(page.evaluate("() => document.querySelector('.dp-chart').dataset.points")) == counters["episodes"]
        # the wall is respected: no position the page drew, nor any the agent took, is in it
        n_cols = session.layout.shape[1]
        blocked = {r * n_cols + c for r, c in wall}
        seen.discard(-1)
        assert seen and not (seen & blocked)
        tried_into = {int(x) for x in lane.agent.model.next_state.ravel() if x >= 0}
        assert not (tried_into & blocked)
        # one real step from the step button
        page.click("button.dp-step")
        target = counters["real_steps"] + 1
        _wait(page, f"() => Number(document.querySelector('.dp-counters').dataset.realSteps) === {target}")

        # malformed messages through the page's own channel: refused, shown, nothing done
        steps = lane.real_steps
        page.evaluate("() => window.dynaplanExplorer.sendRaw('{not json')")
        _wait(page, "() => document.querySelector('.dp-error').textContent.includes('malformed message')")
        assert page.is_visible(".dp-error")
        page.evaluate(f"() => {EL}.send({{type: 'step', steps: 'import os; os.system(\"true\")'}})")
        _wait(page, "() => document.querySelector('.dp-error').textContent.includes('step.steps')")
        page.evaluate(f"() => {EL}.send({{type: '__import__', code: 'os.remove'}})")
        _wait(page, "() => document.querySelector('.dp-error').textContent.includes('unknown message type')")
        _set_param(page, 0, "alpha", "1.5")
        page.click("button.dp-apply")
        _wait(page, "() => document.querySelector('.dp-error').textContent.includes('alpha must be in (0, 1]')")
        assert session.lanes[0] is lane and lane.real_steps == steps
        assert page.errors == []


def test_frame_rate_and_side_by_side_screenshot(tmp_path):
    session = Session(MAZE_10X10, agent="dyna-q", params={"planning_steps": 50}, seed=1)
    with serving(session) as url, chromium() as page:
        page.goto(url)
        _wait(page, f"() => {EL}.state.frame !== null")
        # 10 x 10 maze, one real step (50 backups) per frame
        page.evaluate("() => { document.querySelector('.dp-speed').value = '2';"
                      " document.querySelector('.dp-speed').dispatchEvent(new Event('input')); }")
        page.click("button.dp-run")
        _wait(page, f"() => {EL}.state.stats.totalFrames > 30")
        rates = measure(page, 3.0)
        page.click("button.dp-pause")
        print(f"\nexplorer in Chromium, 10 x 10 maze, Dyna-Q n = 50: {rates.frames_per_second:.1f} frames/s, "
              f"{rates.backups_per_second:.0f} planning backups drawn/s")
        # one real step per reply, and each real step of Dyna-Q n = 50 makes exactly 50 backups: the
        # page received 50 per reply, at least one reply per frame it drew (replies that arrive
        # between two screen refreshes are drawn together; the rates' floor is in
        # benchmarks/explorer.py, not here)
        frames = round(rates.frames_per_second * rates.seconds)
        backups = round(rates.backups_per_second * rates.seconds)
        assert frames >= 3 and backups % 50 == 0 and backups >= 50 * frames, (frames, backups)

        # two agents side by side on the Dyna maze and the same seed: n = 0 against n = 50
        page.select_option(".dp-layout", "dyna-maze")
        _wait(page, f"() => {EL}.state.frame.cols === 9")
        page.check(".dp-compare")
        page.select_option(".dp-agent >> nth=0", "dyna-q")
        page.select_option(".dp-agent >> nth=1", "dyna-q")
        _set_param(page, 0, "planning_steps", "0")
        _set_param(page, 1, "planning_steps", "50")
        page.fill(".dp-seed", "0")
        page.click("button.dp-apply")
        _wait(page, f"() => {EL}.state.frame.lanes.length === 2")
        assert [ln.agent.params["planning_steps"] for ln in session.lanes] == [0, 50]
        page.click("button[data-tool='wall']")
        _drag(page, [(5, 3), (5, 4)])
        _wait(page, f"() => {EL}.state.frame.layout[5].slice(3, 5) === '##'")
        page.evaluate("() => { document.querySelector('.dp-speed').value = '6';"
                      " document.querySelector('.dp-speed').dispatchEvent(new Event('input')); }")
        page.click("button.dp-run")
        _wait(page, "() => [...document.querySelectorAll('.dp-counters')].every((e, i) => "
                    "Number(e.dataset.episodes) >= 1 + i)", 120)
        page.click("button.dp-pause")
        time.sleep(0.2)
        # the same real steps for both; n = 50 made 50 planning updates per real step, n = 0 none
        a, b = session.lanes
        assert a.real_steps == b.real_steps and a.planning_updates == 0 and b.planning_updates == 50 * b.real_steps
        time.sleep(0.6)  # the run's flashes fade; then one real step shows its own 50 backups
        page.click("button.dp-step")
        time.sleep(0.1)
        # DYNAPLAN_UPDATE_DOCS=1 writes the documentation's picture; otherwise the tracked file is left alone
        shot = DOCS / "explorer.png" if os.environ.get("DYNAPLAN_UPDATE_DOCS") else tmp_path / "explorer.png"
        shot.parent.mkdir(exist_ok=True)
        page.locator(".dp-root").screenshot(path=str(shot))
        assert shot.stat().st_size > 10_000
        assert page.errors == []
