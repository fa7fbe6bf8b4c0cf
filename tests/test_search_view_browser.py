"""The search view in a real browser (Debian's headless Chromium, via Playwright), reached from the
standalone page's link.

One browser for the whole test (browsers are slow to start). It grows the tree and the table,
checks what the page shows against a ``SearchSession`` run alongside with the same seed (the
frames it drew, the root actions' numbers it prints, phase by phase), runs and pauses, takes a
real step and checks the kept subtree, and saves ``docs/explorer-search.png`` (the README's and
docs/explorer.md's screenshot) when ``DYNAPLAN_UPDATE_DOCS=1``.
"""

from __future__ import annotations

import os
from pathlib import Path

from dynaplan.explore.browser import chromium, serving
from dynaplan.explore.search_view import SearchSession
from dynaplan.explore.session import Session

DOCS = Path(__file__).resolve().parents[1] / "docs"
FRAME = "window.searchView.frame"


def _info(page) -> dict[str, int]:
    data = page.evaluate("() => ({...document.getElementById('info').dataset})")
    return {k: int(v) for k, v in data.items() if k != "phase"}


def _wait_simulation(page, k: int) -> None:
    page.wait_for_function(f"() => document.getElementById('info').dataset.simulation === '{k}'")


def _root_rows(page) -> list[list[str]]:
    return page.evaluate("() => [...document.querySelectorAll('#root tbody tr')]"
                         ".map((tr) => [...tr.cells].map((td) => td.textContent))")


def _fmt(v: float | None) -> str:
    return "\u2013" if v is None else f"{v:.3f}"


def _expected_rows(f: dict, phase_before: bool) -> list[list[str]]:
    """The root table the page should print: exact values, then each search's root N and value
    (before the backup in the first three phases: from the path's rows)."""
    rows = []
    for a, exact in enumerate(f["exact"]):
        cells = [f["actions"][a], _fmt(exact)]
        for search, root in ((f["tree"], 0), (f["table"], f["table"]["root_state"])):
            n, v = search["root_n"][a], search["root_mean"][a]
            for p in search["path"]:
                if (p["node"], p["action"]) == (root, a):
                    n, v = (p["n_before"], p["value_before"]) if phase_before else (p["n"], p["value"])
            cells += [str(int(n)) if float(n).is_integer() else str(n), _fmt(v)]
        rows.append(cells)
    return rows


def test_search_view_draws_both_searches_as_the_python_side_grows_them():
    truth = SearchSession(seed=0)
    with serving(Session(seed=3)) as url, chromium(width=1300, height=820) as page:
        page.goto(url)
        page.click("text=the search view")
        page.wait_for_function(f"() => {FRAME} !== null")
        assert page.url == url + "search.html"
        assert _info(page) == {"simulation": 0, "nodes": 1, "reused": 0}

        page.click("button[data-count='100']")
        _wait_simulation(page, 100)
        f = truth.handle({"type": "simulate", "count": 100})
        assert _info(page) == {"simulation": 100, "nodes": len(f["tree"]["nodes"]), "reused": 0}
        assert page.evaluate(f"() => {FRAME}") == f
        assert int(page.get_attribute("#table-info", "data-pairs")) == len(f["table"]["pairs"])
        assert _root_rows(page) == _expected_rows(f, phase_before=False)

        # one simulation, phase by phase: the root's numbers before the backup, then after it
        page.click("#phase-btn")
        _wait_simulation(page, 101)
        f = truth.handle({"type": "simulate", "count": 1})
        assert page.evaluate(f"() => {FRAME}") == f
        shown = [page.inner_text("#phase")]
        assert _root_rows(page) == _expected_rows(f, phase_before=True) != _expected_rows(f, phase_before=False)
        for _ in range(3):
            page.click("#phase-btn")
            shown.append(page.inner_text("#phase").split(" (")[0])
        assert _info(page)["simulation"] == 101  # the phases are of one simulation
        assert shown == ["phase: selection", "phase: expansion", "phase: evaluation", "phase: backup"]
        assert _root_rows(page) == _expected_rows(f, phase_before=False)

        # run, then pause: the page asks for one simulation per frame until paused
        page.click("#run-btn")
        page.wait_for_function("() => Number(document.getElementById('info').dataset.simulation) >= 130")
        page.click("#run-btn")
        page.wait_for_function("() => !window.searchView.running && !window.searchView.busy")
        ran = _info(page)["simulation"]
        f = truth.handle({"type": "simulate", "count": ran - 101})
        assert page.evaluate(f"() => {FRAME}") == f

        # a real step by the tree: the subtree of the outcome is kept (teal), with its statistics
        page.click("#step-tree")
        page.wait_for_function("() => window.searchView.frame.step !== null")
        f = truth.handle({"type": "step", "by": "tree"})
        assert f["tree"]["reused"] > 1
        assert page.evaluate(f"() => {FRAME}") == f
        assert _info(page) == {"simulation": ran, "nodes": f["tree"]["reused"], "reused": f["tree"]["reused"]}
        assert page.inner_text("#info").endswith(
            f"{f['step']['state']} -{f['actions'][f['step']['action']]}-> {f['step']['next_state']} (reward 0)")

        page.click("button[data-count='10']")
        _wait_simulation(page, ran + 10)
        truth.handle({"type": "simulate", "count": 10})
        page.click("#phase-btn")  # the next simulation, shown at its evaluation
        _wait_simulation(page, ran + 11)
        page.click("#phase-btn")
        page.click("#phase-btn")
        f = truth.handle({"type": "simulate", "count": 1})
        assert page.evaluate(f"() => {FRAME}") == f and page.inner_text("#phase").startswith("phase: evaluation")
        assert page.errors == []  # type: ignore[attr-defined]
        if os.environ.get("DYNAPLAN_UPDATE_DOCS") == "1":
            page.screenshot(path=str(DOCS / "explorer-search.png"), full_page=True)

        # a malformed message is answered with one line, and the page keeps its frame
        reply = page.evaluate("""async () => (await fetch('search-api', {method: 'POST',
            headers: {'Content-Type': 'application/json'}, body: '{"type": "simulate", "count": 0}'})).json()""")
        assert reply == {"type": "error", "message": "count must be an integer in [1, 1000], got 0"}
        page.click("#reset-btn")
        _wait_simulation(page, 0)
        assert _info(page) == {"simulation": 0, "nodes": 1, "reused": 0}
