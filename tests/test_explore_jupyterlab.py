"""The explorer widget in a real JupyterLab, driven in Debian's headless Chromium (issue 24).

One JupyterLab for this module (a fixture, on a free port of 127.0.0.1, stopped after). The test
opens a notebook made of the README's cells, runs them, and checks what a teacher meets: the
widget renders, the counters advance after ``explorer.step(500)`` and after pressing run, the
output of ``step`` is one short line, two lanes draw at least 30 frames per second, and they stay
side by side in a 900 px window. ``DYNAPLAN_UPDATE_DOCS=1`` saves the screenshot for the docs.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import nbformat
import pytest

from dynaplan.explore.browser import chromium, jupyterlab, measure

DOCS = Path(__file__).resolve().parents[1] / "docs"
EL = "document.querySelector('.dynaplan-explorer').explorer"
CELLS = [
    'import dynaplan\nexplorer = dynaplan.Explorer(agent="dyna-q", params={"planning_steps": 0},\n'
    '                             compare=("dyna-q", {"planning_steps": 50}))   # maze=, seed= too\nexplorer',
    "explorer.step(500)",
]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("lab")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, root / "explorer.ipynb")
    with jupyterlab(root) as running:
        yield running


def _counters(page) -> list[dict[str, int]]:
    return page.evaluate("() => [...document.querySelectorAll('.dp-counters')].map((e) => ({"
                         "real_steps: Number(e.dataset.realSteps), planning_updates: Number(e.dataset.planningUpdates),"
                         " episodes: Number(e.dataset.episodes)}))")


def test_the_readme_cells_in_jupyterlab(lab, tmp_path):
    with chromium(width=900, height=1000) as page:
        page.goto(lab.url("/lab/tree/explorer.ipynb"))
        page.wait_for_function("() => window.jupyterapp && document.querySelector('.jp-Notebook .jp-Cell')",
                               timeout=120_000)
        # wait for the kernel, then run both cells
        page.wait_for_function("() => { const w = window.jupyterapp.shell.currentWidget;"
                               " return w && w.sessionContext && w.sessionContext.session &&"
                               " w.sessionContext.session.kernel &&"
                               " w.sessionContext.session.kernel.status === 'idle'; }",
                               timeout=120_000)
        page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
        page.wait_for_selector(".dynaplan-explorer canvas.dp-maze", timeout=180_000)
        page.wait_for_function("() => [...document.querySelectorAll('.dp-counters')].length === 2 &&"
                               " [...document.querySelectorAll('.dp-counters')].every("
                               "(e) => e.dataset.realSteps === '500')",
                               timeout=180_000)
        counters = _counters(page)
        # the README's comparison: the same 500 real steps; n = 0 plans nothing, n = 50 plans 50 per step
        assert [c["real_steps"] for c in counters] == [500, 500]
        assert [c["planning_updates"] for c in counters] == [0, 25_000]
        # the step cell's output is one short line, not the frame
        out = page.locator(".jp-Cell").nth(1).locator(".jp-OutputArea-output").inner_text(timeout=60_000)
        assert 0 < len(out.strip().splitlines()) <= 3 and len(out) < 400, out
        assert "stepped 500" in out

        # both lanes side by side in a 900 px window, nothing cut off
        boxes = [page.locator("canvas.dp-maze").nth(i).bounding_box() for i in range(2)]
        assert abs(boxes[0]["y"] - boxes[1]["y"]) < 2 and boxes[1]["x"] >= boxes[0]["x"] + boxes[0]["width"], boxes
        output = page.locator(".jp-Cell").nth(0).locator(".jp-OutputArea-output").bounding_box()
        for box in (*boxes, page.locator(".dp-chart").bounding_box()):
            assert box["x"] >= output["x"] - 1 and box["x"] + box["width"] <= output["x"] + output["width"] + 1

        # wider (1,400 px): still side by side, cells as large as the room allows, still inside the output
        page.set_viewport_size({"width": 1400, "height": 1000})
        page.wait_for_function(f"() => document.querySelector('canvas.dp-maze').width > {boxes[0]['width']}",
                               timeout=30_000)
        wide = [page.locator("canvas.dp-maze").nth(i).bounding_box() for i in range(2)]
        output = page.locator(".jp-Cell").nth(0).locator(".jp-OutputArea-output").bounding_box()
        assert abs(wide[0]["y"] - wide[1]["y"]) < 2 and wide[1]["x"] >= wide[0]["x"] + wide[0]["width"], wide
        assert wide[1]["x"] + wide[1]["width"] <= output["x"] + output["width"] + 1
        if os.environ.get("DYNAPLAN_UPDATE_DOCS"):
            page.screenshot(path=str(DOCS / "explorer-jupyterlab-1400.png"))
        page.set_viewport_size({"width": 900, "height": 1000})
        page.wait_for_function(f"() => document.querySelector('canvas.dp-maze').width <= {boxes[0]['width']}",
                               timeout=30_000)

        # keys typed after clicking a widget button stay in the widget: "b" inserts no cell
        page.click(".dp-step")
        page.keyboard.press("b")
        time.sleep(0.5)
        assert page.locator(".jp-Notebook .jp-Cell").count() == 2

        # run at one real step per frame: the counters advance and two lanes draw >= 30 frames/s
        page.evaluate("() => { const s = document.querySelector('.dp-speed'); s.value = '2';"
                      " s.dispatchEvent(new Event('input')); }")
        page.click(".dp-run")
        page.wait_for_function(f"() => {EL}.state.stats.totalFrames > 40", timeout=60_000)
        time.sleep(1.0)
        rates = measure(page, 4.0)
        before = _counters(page)[0]["real_steps"]
        time.sleep(0.3)
        page.click(".dp-pause")
        print(f"\nexplorer in JupyterLab, two lanes: {rates.frames_per_second:.1f} frames/s")
        assert rates.frames_per_second >= 30, rates
        time.sleep(0.5)
        after = _counters(page)
        assert after[0]["real_steps"] == after[1]["real_steps"] > before > 500
        assert after[1]["planning_updates"] == 50 * after[1]["real_steps"]

        shot = DOCS / "explorer-jupyterlab.png" if os.environ.get("DYNAPLAN_UPDATE_DOCS") else tmp_path / "lab.png"
        page.screenshot(path=str(shot))
        if os.environ.get("DYNAPLAN_UPDATE_DOCS"):  # the widget alone, as it draws in a 900 px window
            page.locator(".dynaplan-explorer").screenshot(path=str(DOCS / "explorer-widget-900.png"))
        assert shot.stat().st_size > 10_000
        assert page.errors == []
