"""The search view's page in a real browser (Debian's headless Chromium, via Playwright).

It grows the tree and the state-keyed table on the page, checks the counts it shows against a ``SearchSession`` run
alongside with the same seed, steps through the four phases of one simulation, takes a real step
and checks the kept subtree, and saves ``docs/explorer-search.png`` when
``DYNAPLAN_UPDATE_DOCS=1``.
"""

from __future__ import annotations

import os
from pathlib import Path

from dynaplan.explore.browser import chromium, serving
from dynaplan.explore.search_view import SearchSession
from dynaplan.explore.session import Session

DOCS = Path(__file__).resolve().parents[1] / "docs"


def _info(page) -> dict[str, int]:
    data = page.evaluate("() => ({...document.getElementById('info').dataset})")
    return {k: int(v) for k, v in data.items()}


def test_search_page_draws_the_tree_as_the_python_side_grows_it():
    truth = SearchSession(seed=0)
    with serving(Session(seed=3)) as url, chromium(width=1300, height=900) as page:
        page.goto(url + "search.html")
        page.wait_for_function("() => window.searchView.frame !== null")
        assert _info(page) == {"simulation": 0, "nodes": 1, "reused": 0}

        page.click("button[data-count='100']")
        page.wait_for_function("() => document.getElementById('info').dataset.simulation === '100'")
        f = truth.handle({"type": "simulate", "count": 100})
        assert _info(page) == {"simulation": 100, "nodes": len(f["nodes"]), "reused": 0}
        assert page.evaluate("() => window.searchView.frame.edges") == f["edges"]
        assert page.evaluate("() => window.searchView.frame.table") == f["table"]
        assert int(page.get_attribute("#table-info", "data-pairs")) == len(f["table"]["rows"])

        # one simulation, phase by phase
        page.click("#phase-btn")
        page.wait_for_function("() => document.getElementById('info').dataset.simulation === '101'")
        f = truth.handle({"type": "simulate", "count": 1})
        assert page.evaluate("() => window.searchView.frame.path") == f["path"]
        shown = [page.inner_text("#phase")]
        for _ in range(3):
            page.click("#phase-btn")
            shown.append(page.inner_text("#phase").split(" (")[0])
        assert _info(page)["simulation"] == 101  # the phases are of one simulation
        assert shown == ["phase: selection", "phase: expansion", "phase: evaluation", "phase: backup"]

        page.click("button[data-count='100']")
        page.wait_for_function("() => document.getElementById('info').dataset.simulation === '201'")
        truth.handle({"type": "simulate", "count": 100})
        page.click("#step-btn")
        page.wait_for_function("() => document.getElementById('info').dataset.reused !== '0'")
        f = truth.handle({"type": "step"})
        assert f["reused"] > 1
        assert _info(page) == {"simulation": 201, "nodes": f["reused"], "reused": f["reused"]}
        page.click("button[data-count='10']")
        page.wait_for_function("() => document.getElementById('info').dataset.simulation === '211'")
        assert page.errors == []  # type: ignore[attr-defined]
        if os.environ.get("DYNAPLAN_UPDATE_DOCS") == "1":
            page.screenshot(path=str(DOCS / "explorer-search.png"), full_page=True)

        # a malformed message is answered with one line, and the page keeps its frame
        reply = page.evaluate("""async () => (await fetch('search-api', {method: 'POST',
            headers: {'Content-Type': 'application/json'}, body: '{"type": "simulate", "count": 0}'})).json()""")
        assert reply == {"type": "error", "message": "count must be an integer in [1, 1000], got 0"}
