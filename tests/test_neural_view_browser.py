"""The neural view in a real browser (Debian's headless Chromium, via Playwright), reached from the
standalone page's link.

One browser for the whole test. It steps the world at random until the first fit, then plans,
and checks what the page shows against a ``NeuralSession`` run alongside with the same seed:
the frame it drew, the elites and the number of sequences it names (data attributes), the canvas
changing as frames arrive and the elites' end markers in orange where the frame puts them; it
runs and pauses, and saves ``docs/explorer-neural.png`` (docs/explorer.md's screenshot) when
``DYNAPLAN_UPDATE_DOCS=1``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

pytest.importorskip("jax")

from dynaplan.explore.browser import chromium, serving
from dynaplan.explore.neural_view import NeuralSession
from dynaplan.explore.session import Session

DOCS = Path(__file__).resolve().parents[1] / "docs"
FRAME = "() => window.neuralView.frame"
PIXELS = "() => document.getElementById('plane').toDataURL()"


def _info(page) -> dict[str, str]:
    return page.evaluate("() => ({...document.getElementById('info').dataset})")


def _wait_steps(page, k: int) -> None:
    page.wait_for_function(f"() => document.getElementById('info').dataset.steps === '{k}' && !window.neuralView.busy")


def _pixel(page, point: list[float]) -> list[int]:
    return page.evaluate("""(p) => { const [x, y] = window.neuralView.toCanvas(p);
        return [...document.getElementById('plane').getContext('2d').getImageData(Math.round(x), Math.round(y), 1, 1)
        .data].slice(0, 3); }""", point)


def test_neural_view_draws_the_planner_s_samples_as_the_python_side_makes_them():
    truth = NeuralSession()
    with serving(Session(seed=3)) as url, chromium(width=1200, height=900) as page:
        page.goto(url)
        page.click("text=neural planning")
        page.wait_for_function("() => window.neuralView.frame !== null")
        assert page.url == url + "neural.html"
        f = truth.handle({"type": "hello"})
        assert page.evaluate(FRAME) == f
        assert _info(page)["steps"] == "0" and _info(page)["elites"] == ""
        first = page.evaluate(PIXELS)

        page.click("button[data-count='50']")  # at random; the 50th transition fits the model
        _wait_steps(page, 50)
        f = truth.handle({"type": "step", "count": 50})
        assert page.evaluate(FRAME) == f and f["fits"] == 1 and f["decision"] is None
        random_walk = page.evaluate(PIXELS)
        assert random_walk != first

        page.click("button[data-count='1']")  # the first planned decision
        _wait_steps(page, 51)
        f = truth.handle({"type": "step", "count": 1})
        assert page.evaluate(FRAME) == f
        assert page.evaluate(PIXELS) != random_walk
        last = f["decision"]["iterations"][-1]
        info = _info(page)
        assert info["elites"] == ",".join(map(str, last["elites"])) and info["planning"] == "true"
        assert int(info["sequences"]) == len(last["trajectories"]) == f["planner"]["population"]
        for i in last["elites"]:  # each elite's end is marked in orange
            assert _pixel(page, last["trajectories"][i][-1]) == [230, 126, 0]
        page.select_option("#iteration", "0")
        assert _info(page)["elites"] == ",".join(map(str, f["decision"]["iterations"][0]["elites"]))
        assert _info(page)["iteration"] == "0"
        page.select_option("#iteration", str(len(f["decision"]["iterations"]) - 1))

        # run, then pause: one step per frame until paused
        page.click("#run-btn")
        page.wait_for_function("() => Number(document.getElementById('info').dataset.steps) >= 56")
        page.click("#run-btn")
        page.wait_for_function("() => !window.neuralView.running && !window.neuralView.busy")
        ran = int(_info(page)["steps"])
        f = truth.handle({"type": "step", "count": ran - 51})
        assert page.evaluate(FRAME) == f
        assert page.errors == []  # type: ignore[attr-defined]
        if os.environ.get("DYNAPLAN_UPDATE_DOCS") == "1":
            page.screenshot(path=str(DOCS / "explorer-neural.png"), full_page=True)

        # a malformed message is answered with one line, and the page keeps its frame
        reply = page.evaluate("""async () => (await fetch('neural-api', {method: 'POST',
            headers: {'Content-Type': 'application/json'}, body: '{"type": "step", "count": 0}'})).json()""")
        assert reply == {"type": "error", "message": "count must be an integer in [1, 200], got 0"}
        assert page.evaluate(FRAME) == f
