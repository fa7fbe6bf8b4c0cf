"""The explorer widget in a real marimo app, driven in Debian's headless Chromium (issue 24).

``marimo run`` (the app view: every cell runs on opening) serves a notebook of one cell that shows
``dynaplan.Explorer`` through ``mo.ui.anywidget``, on a free port of 127.0.0.1. The test checks
what a teacher meets there, as the JupyterLab test does: the widget renders, the counters advance
after pressing run (the kernel's pushed frames reach marimo's front end), both lanes stay side by
side in a 900 px window and nothing is cut off at 1,400 px; and the inputs are drawn with borders.
marimo draws the widget inside a shadow root: Playwright's CSS locators reach into it.
"""

from __future__ import annotations

import pytest

pytest.importorskip("marimo")

from dynaplan.explore.browser import chromium, marimo_app

NOTEBOOK = '''import marimo

app = marimo.App(width="medium")


@app.cell
def _():
    import marimo as mo

    import dynaplan

    explorer = dynaplan.Explorer(agent="dyna-q", params={"planning_steps": 0},
                                 compare=("dyna-q", {"planning_steps": 50}))
    widget = mo.ui.anywidget(explorer)
    widget
    return


if __name__ == "__main__":
    app.run()
'''


def _counters(page) -> list[dict[str, int]]:
    return page.locator(".dp-counters").evaluate_all(
        "els => els.map((e) => ({real_steps: Number(e.dataset.realSteps),"
        " planning_updates: Number(e.dataset.planningUpdates)}))")


def _inside(page) -> None:
    """Both mazes side by side; the mazes and the chart inside the widget, the widget inside marimo's
    output (the first box around the shadow host) and the window, nothing scrolled out sideways."""
    boxes = [page.locator("canvas.dp-maze").nth(i).bounding_box() for i in range(2)]
    assert abs(boxes[0]["y"] - boxes[1]["y"]) < 2 and boxes[1]["x"] >= boxes[0]["x"] + boxes[0]["width"], boxes
    widget = page.locator(".dynaplan-explorer").bounding_box()
    output = page.locator(".dynaplan-explorer").evaluate(  # the first box around the shadow host
        "(e) => { let n = e.getRootNode().host.parentElement;"
        " while (n.parentElement && n.getBoundingClientRect().width === 0) n = n.parentElement;"
        " const r = n.getBoundingClientRect(); return {x: r.x, width: r.width}; }")
    assert output["width"] > 0
    window = page.evaluate("() => window.innerWidth")
    for box in (*boxes, page.locator(".dp-chart").bounding_box()):
        assert box["x"] >= widget["x"] - 1 and box["x"] + box["width"] <= widget["x"] + widget["width"] + 1, box
    assert widget["x"] >= output["x"] - 1 and widget["x"] + widget["width"] <= output["x"] + output["width"] + 1
    assert widget["x"] + widget["width"] <= window
    scroll = page.locator(".dynaplan-explorer").evaluate("(e) => [e.scrollWidth, e.clientWidth]")
    assert scroll[0] <= scroll[1], scroll


def test_the_explorer_widget_in_marimo(tmp_path):
    notebook = tmp_path / "explorer_app.py"
    notebook.write_text(NOTEBOOK)
    with marimo_app(notebook) as url, chromium(width=900, height=1000) as page:
        page.goto(url)
        page.wait_for_selector(".dynaplan-explorer canvas.dp-maze", timeout=120_000)
        assert page.locator("canvas.dp-maze").count() == 2
        assert _counters(page) == [{"real_steps": 0, "planning_updates": 0}] * 2

        # inputs drawn with borders (issue 24: marimo had drawn them without)
        styles = page.locator(".dynaplan-explorer input[type=number], .dynaplan-explorer select").evaluate_all(
            "els => els.map((e) => { const s = getComputedStyle(e);"
            " return [s.borderTopWidth, s.borderTopStyle, s.borderTopColor]; })")
        assert len(styles) >= 10
        for width, style, colour in styles:
            assert float(width.removesuffix("px")) >= 1 and style != "none", styles
            assert colour not in ("transparent", "rgba(0, 0, 0, 0)"), styles

        _inside(page)  # 900 px
        narrow = page.locator("canvas.dp-maze").first.bounding_box()["width"]

        # run: the counters advance in both lanes; n = 50 plans 50 updates per real step
        page.click(".dp-run")
        page.wait_for_function(
            "(el) => Number(el.dataset.realSteps) >= 20", arg=page.locator(".dp-counters").nth(1).element_handle(),
            timeout=60_000)
        page.click(".dp-pause")
        page.wait_for_timeout(800)  # frames already pushed land
        after = _counters(page)
        assert after[0]["real_steps"] == after[1]["real_steps"] >= 20
        assert after[0]["planning_updates"] == 0 and after[1]["planning_updates"] == 50 * after[1]["real_steps"]

        page.set_viewport_size({"width": 1400, "height": 1000})
        page.wait_for_function("([el, w]) => el.getBoundingClientRect().width > w",
                               arg=[page.locator("canvas.dp-maze").first.element_handle(), narrow], timeout=30_000)
        _inside(page)  # 1,400 px
        assert page.errors == []  # type: ignore[attr-defined]
