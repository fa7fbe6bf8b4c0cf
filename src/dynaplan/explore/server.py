"""``dynaplan explore``: the explorer as a standalone local page (no notebook needed).

A small ``http.server``: ``GET /`` serves the page and its two static files (the same
``explorer.js`` the notebook widget runs), ``POST /api`` takes one JSON message and answers with
the session's JSON reply (``explore.session``). Nothing else is served, nothing is fetched from
the network, and a message that is not valid JSON or not a valid message gets an error reply
that the page shows; it is never executed. It binds 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from dynaplan.explore.session import ProtocolError, Session

STATIC = Path(__file__).parent / "static"
FILES = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/index.html": ("index.html", "text/html; charset=utf-8"),
    "/explorer.js": ("explorer.js", "text/javascript; charset=utf-8"),
    "/explorer.css": ("explorer.css", "text/css; charset=utf-8"),
}
MAX_BODY = 1 << 20
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def make_server(session: Session, host: str = "127.0.0.1", port: int = 8765) -> ThreadingHTTPServer:
    """A server for ``session`` (not yet serving; ``port=0`` picks a free port)."""
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        server_version = "dynaplan-explore"

        def log_message(self, format: str, *args: Any) -> None:  # quiet: the page shows errors
            pass

        def _send(self, code: int, body: bytes, content_type: str) -> None:
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("X-Content-Type-Options", "nosniff")
            self.end_headers()
            self.wfile.write(body)

        def _json(self, code: int, reply: dict[str, Any]) -> None:
            self._send(code, json.dumps(reply, separators=(",", ":")).encode(), "application/json")

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path not in FILES:
                self._send(404, b"not found", "text/plain; charset=utf-8")
                return
            name, content_type = FILES[path]
            self._send(200, (STATIC / name).read_bytes(), content_type)

        def do_POST(self) -> None:
            if self.path.split("?", 1)[0] != "/api":
                self._send(404, b"not found", "text/plain; charset=utf-8")
                return
            # JSON only: a cross-site page cannot send that without a CORS preflight, which is never granted
            if not self.headers.get("Content-Type", "").startswith("application/json"):
                message = "malformed message: Content-Type must be application/json"
                self._json(415, {"type": "error", "message": message})
                return
            try:
                length = int(self.headers.get("Content-Length", "0"))
            except ValueError:
                length = -1
            if not 0 <= length <= MAX_BODY:
                self._json(413, {"type": "error", "message": f"malformed message: body must be 0 to {MAX_BODY} bytes"})
                return
            raw = self.rfile.read(length)
            try:
                msg = json.loads(raw.decode("utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                self._json(400, {"type": "error", "message": f"malformed message: not JSON ({exc})"})
                return
            with lock:
                reply = session.handle(msg)
            self._json(400 if reply.get("type") == "error" else 200, reply)

    return ThreadingHTTPServer((host, port), Handler)


def serve(maze: str | Path | None = None, agent: str = "dyna-q", host: str = "127.0.0.1", port: int = 8765,
          seed: int = 0) -> None:
    """Run the explorer page until interrupted (the body of ``dynaplan explore``).

    Bad input (a maze file, an agent name) raises ``ValueError`` with one line.
    """
    from dynaplan.envs.layouts import DYNA_MAZE, load_layout

    layout = load_layout(Path(maze)) if maze is not None else load_layout(DYNA_MAZE)
    try:
        session = Session(layout, agent=agent, seed=seed)
    except ProtocolError as exc:
        raise ValueError(str(exc).replace("agent: ", "--agent: ", 1)) from None
    if host not in LOCAL_HOSTS:
        print(f"warning: serving on {host}: anyone who can reach this address can drive the explorer "
              "(it runs no code from the page, but it uses this machine's CPU)", file=sys.stderr)
    try:
        server = make_server(session, host, port)
    except OSError as exc:
        raise ValueError(f"--port {port}: cannot listen on {host}:{port} ({exc.strerror or exc})") from None
    shown = f"[{host}]" if ":" in host else host
    print(f"dynaplan explorer on http://{shown}:{server.server_address[1]}/  (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
