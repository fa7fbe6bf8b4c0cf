"""Drive the explorer page in a real browser: the system's headless Chromium through Playwright.

Used by the browser test (``tests/test_explore_browser.py``) and the benchmark
(``benchmarks/explorer.py``). It never downloads a browser: it runs ``/usr/bin/chromium``
(Debian's ``chromium`` package) and raises ``RuntimeError`` naming the package when it is
missing. Needs ``playwright`` (the ``dev`` extra); ``playwright install`` is never needed.
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dynaplan.explore.server import make_server
from dynaplan.explore.session import Session

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]


@contextmanager
def serving(session: Session) -> Iterator[str]:
    """Serve ``session`` on a free port of 127.0.0.1 in a thread; yields the page's URL."""
    server = make_server(session, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def chromium(width: int = 1200, height: int = 900) -> Iterator[Any]:
    """A Playwright page in the system's headless Chromium, with a fresh user-data directory."""
    if not CHROMIUM.exists():
        raise RuntimeError(f"{CHROMIUM} not found: apt-get install -y chromium (Debian's packages)")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="dynaplan-chromium-") as profile, sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            profile, executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True,
            viewport={"width": width, "height": height},
        )
        try:
            page = context.new_page()
            errors: list[str] = []
            page.errors = errors  # type: ignore[attr-defined]
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            yield page
        finally:
            context.close()


@dataclass(frozen=True)
class Rates:
    """What the page drew while running: frames per second and planning backups drawn per second."""

    frames_per_second: float
    backups_per_second: float
    seconds: float


def measure(page: Any, seconds: float = 3.0) -> Rates:
    """Frames and flashed planning backups the page draws per second while it runs (page counters)."""
    before = page.evaluate("() => { const s = document.querySelector('.dynaplan-explorer').explorer.state.stats;"
                           " return [s.totalFrames || 0, s.totalBackups || 0]; }")
    t0 = time.perf_counter()
    time.sleep(seconds)
    after = page.evaluate("() => { const s = document.querySelector('.dynaplan-explorer').explorer.state.stats;"
                          " return [s.totalFrames || 0, s.totalBackups || 0]; }")
    dt = time.perf_counter() - t0
    return Rates((after[0] - before[0]) / dt, (after[1] - before[1]) / dt, dt)
