"""Drive the explorer in a real browser: the system's headless Chromium through Playwright.

Used by the browser tests (``tests/test_explore_browser.py``: the standalone page;
``tests/test_explore_jupyterlab.py``: the widget in a real JupyterLab, started by ``jupyterlab``
on a free loopback port; ``tests/test_explore_marimo.py``: the widget in a marimo app, started by
``marimo_app``) and the benchmark (``benchmarks/explorer.py``). It never downloads a
browser: it runs ``/usr/bin/chromium`` (Debian's ``chromium`` package) and raises
``RuntimeError`` naming the package when it is missing. Needs ``playwright`` (the ``dev``
extra); ``playwright install`` is never needed.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
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


@dataclass(frozen=True)
class Lab:
    """A running JupyterLab: ``url(path)`` is a page of it (with the token), ``root`` its directory."""

    base: str
    token: str
    root: Path

    def url(self, path: str) -> str:
        return f"{self.base}{path}?token={self.token}"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop a server started in its own session, with everything it started."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _wait_ready(proc: subprocess.Popen[bytes], url: str, log: Path, name: str, timeout: float) -> None:
    """Poll ``url`` until it answers 200; ``RuntimeError`` with the log's tail if the server exits or is late."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited with {proc.returncode}: {log.read_text(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:
                if reply.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{name} did not start within {timeout:.0f} s")
        time.sleep(0.3)


@contextmanager
def marimo_app(notebook: Path, timeout: float = 120.0) -> Iterator[str]:
    """``marimo run notebook`` (the app view: every cell runs on opening) on a free port of
    127.0.0.1, headless, its kernel importing this ``dynaplan``; yields the app's URL and stops it
    (with its kernel) on exit. Its configuration and state go to a fresh directory, so the user's
    marimo settings play no part. Needs ``marimo`` (the ``dev`` extra).
    """
    port = _free_port()
    home = Path(tempfile.mkdtemp(prefix="dynaplan-marimo-"))
    src = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "XDG_CONFIG_HOME": str(home / "config"), "XDG_STATE_HOME": str(home / "state"),
           "XDG_CACHE_HOME": str(home / "cache"),
           "PYTHONPATH": os.pathsep.join(p for p in (src, os.environ.get("PYTHONPATH", "")) if p)}
    argv = [sys.executable, "-m", "marimo", "-y", "run", str(notebook), "--headless", "--host", "127.0.0.1",
            "--port", str(port), "--no-token", "--no-sandbox"]
    log_path = home / "server.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        try:
            url = f"http://127.0.0.1:{port}/"
            _wait_ready(proc, url, log_path, "marimo", timeout)
            yield url
        finally:
            _stop(proc)


@contextmanager
def jupyterlab(root: Path, timeout: float = 120.0) -> Iterator[Lab]:
    """JupyterLab serving ``root`` on a free port of 127.0.0.1, its kernels importing this
    ``dynaplan``; stopped (with its kernels) on exit. Nothing is fetched: no news, no update check.

    Needs ``jupyterlab`` (the ``dev`` extra). The app is exposed to the page
    (``window.jupyterapp``) so that a test can run its commands.
    """
    port = _free_port()
    token = secrets.token_hex(16)
    config = Path(tempfile.mkdtemp(prefix="dynaplan-jupyter-"))
    src = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(config / "config"), "JUPYTER_RUNTIME_DIR": str(config / "runtime"),
           "JUPYTERLAB_SETTINGS_DIR": str(config / "settings"), "JUPYTERLAB_WORKSPACES_DIR": str(config / "ws"),
           "PYTHONPATH": os.pathsep.join(p for p in (src, os.environ.get("PYTHONPATH", "")) if p)}
    argv = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
            "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
            "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.expose_app_in_browser=True", "--LabApp.extension_manager=readonly",
            "--ServerApp.log_level=WARN"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:  # a container's root (JupyterLab refuses it otherwise)
        argv.append("--allow-root")
    news = config / "settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    news.parent.mkdir(parents=True)
    news.write_text('{"fetchNews": "false", "checkForUpdates": false}')  # no toast asking to fetch news
    log = open(config / "server.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    lab = Lab(f"http://127.0.0.1:{port}", token, root)
    try:
        _wait_ready(proc, lab.url("/api/status"), config / "server.log", "jupyterlab", timeout)
        yield lab
    finally:
        _stop(proc)
        log.close()
