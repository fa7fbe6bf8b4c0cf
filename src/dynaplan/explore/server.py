"""``dynaplan explore``: the explorer as a standalone local page (no notebook needed).

A small ``http.server``: ``GET /`` serves the page and its two static files (the same
``explorer.js`` the notebook widget runs), ``POST /api`` takes one JSON message and answers with
the session's JSON reply (``explore.session``); ``GET /search.html`` is the search view and
``POST /search-api`` its messages (``explore.search_view.SearchSession``, made on first use);
``GET /neural.html`` is the neural view and ``POST /neural-api`` its messages
(``explore.neural_view.NeuralSession``: imported and made on first use, so JAX is imported only
then; without the ``deep`` extra the reply is one line saying how to install it).
Nothing else is served, nothing is fetched from the network, and a message that is not valid
JSON or not a valid message gets one error line that the page shows; it is never executed. It
binds 127.0.0.1 unless told otherwise (``::1`` and other IPv6 addresses too).

What a page on another site could try, refused: a request whose ``Host`` is not the address
served (DNS rebinding: a name the attacker controls pointed at 127.0.0.1) gets 403, as does a
request from a page whose ``Origin`` is not this server; a body that is not
``application/json`` needs a CORS preflight, which is never granted. Every request is bounded:
a body of at most 1 MiB, read within ``TIMEOUT`` seconds, JSON at most ``MAX_DEPTH`` deep and
numbers of at most ``MAX_DIGITS`` digits, and each message's work is bounded by the session.
"""

from __future__ import annotations

import ipaddress
import json
import re
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from dynaplan.explore.search_view import SearchSession
from dynaplan.explore.session import ProtocolError, Session

STATIC = Path(__file__).parent / "static"
FILES = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/index.html": ("index.html", "text/html; charset=utf-8"),
    "/explorer.js": ("explorer.js", "text/javascript; charset=utf-8"),
    "/explorer.css": ("explorer.css", "text/css; charset=utf-8"),
    "/search.html": ("search.html", "text/html; charset=utf-8"),
    "/search.js": ("search.js", "text/javascript; charset=utf-8"),
    "/neural.html": ("neural.html", "text/html; charset=utf-8"),
    "/neural.js": ("neural.js", "text/javascript; charset=utf-8"),
}
ROUTES = ("/api", "/search-api", "/neural-api")
MAX_BODY = 1 << 20
MAX_DEPTH = 64
MAX_DIGITS = 400
TIMEOUT = 10.0
BACKLOG = 256
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_LONG_NUMBER = re.compile(rf"\d{{{MAX_DIGITS + 1},}}")


def decode_message(raw: bytes) -> Any:
    """The JSON value of a message body; ``ProtocolError`` (one line) for anything else.

    Checked before decoding, so no input reaches the decoder's recursion or big-number limits:
    nesting deeper than ``MAX_DEPTH`` and runs of more than ``MAX_DIGITS`` digits are refused.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError("malformed message: not UTF-8 text") from None
    bare = _STRING.sub('""', text)  # brackets and digits inside strings count for nothing
    steps = np.frombuffer(bare.encode(), dtype=np.uint8)
    depth = np.cumsum((steps == ord("[")) | (steps == ord("{")), dtype=np.int64) \
        - np.cumsum((steps == ord("]")) | (steps == ord("}")), dtype=np.int64)
    if depth.size and int(depth.max()) > MAX_DEPTH:
        raise ProtocolError(f"malformed message: JSON nested more than {MAX_DEPTH} deep")
    if _LONG_NUMBER.search(bare):
        raise ProtocolError(f"malformed message: a number of more than {MAX_DIGITS} digits")
    try:
        return json.loads(text, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        raise ProtocolError(f"malformed message: not JSON ({' '.join(str(exc).split())})") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def allowed_hosts(host: str, port: int) -> frozenset[str]:
    """The ``Host`` header values (``name:port``, lower case) a request to this server may carry.

    The address served itself; for a loopback address every loopback spelling (``localhost``,
    ``127.0.0.1``, ``[::1]``); for the wildcard addresses (``0.0.0.0``, ``::``) the machine's own
    name and IP literals are checked per request (see ``host_allowed``).
    """
    shown = f"[{host}]" if ":" in host else host
    names = {f"{shown}:{port}".lower()}
    if host in LOCAL_HOSTS:
        names |= {f"localhost:{port}", f"127.0.0.1:{port}", f"[::1]:{port}"}
    return frozenset(names)


def host_allowed(value: str | None, allowed: frozenset[str], port: int, wildcard: bool) -> bool:
    """Whether a ``Host`` header names this server (a DNS-rebinding page sends its own name)."""
    if not value:
        return False
    value = value.strip().lower()
    if value in allowed:
        return True
    if not wildcard:
        return False
    # bound to every address: any IP literal or this machine's name, on the port served
    name, _, tail = value.rpartition(":")
    if tail != str(port):
        return False
    if name in ("localhost", socket.gethostname().lower()):
        return True
    try:
        ipaddress.ip_address(name[1:-1] if name.startswith("[") and name.endswith("]") else name)
    except ValueError:
        return False
    return True


class ExplorerServer(ThreadingHTTPServer):
    """``ThreadingHTTPServer`` on IPv4 or IPv6 (by the address), with a deep listen backlog so that
    many clients at once queue instead of being reset."""

    daemon_threads = True
    request_queue_size = BACKLOG

    def __init__(self, address: tuple[str, int], handler: Any) -> None:
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        super().__init__(address, handler)


def make_server(session: Session, host: str = "127.0.0.1", port: int = 8765) -> ExplorerServer:
    """A server for ``session`` (not yet serving; ``port=0`` picks a free port)."""
    lock = threading.Lock()
    state: dict[str, Any] = {}

    class Handler(BaseHTTPRequestHandler):
        server_version = "dynaplan-explore"
        timeout = TIMEOUT  # a client that stalls mid-request is dropped, never waited on for ever

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

        def _error(self, code: int, message: str) -> None:
            self._json(code, {"type": "error", "message": message})

        def _trusted(self) -> bool:
            """``Host`` names this server and a page's ``Origin`` (when sent) is this server's."""
            host = self.headers.get("Host")
            if not host_allowed(host, state["allowed"], state["port"], state["wildcard"]):
                self._error(403, f"refused: Host {host!r} is not this server (serving {sorted(state['allowed'])[0]})")
                return False
            origin = self.headers.get("Origin")
            if origin is not None:
                parts = urlsplit(origin)
                if parts.scheme != "http" or not host_allowed(parts.netloc, state["allowed"], state["port"],
                                                              state["wildcard"]):
                    self._error(403, f"refused: a page from {origin!r} may not drive this explorer")
                    return False
            return True

        def do_GET(self) -> None:
            if not self._trusted():
                return
            path = self.path.split("?", 1)[0]
            if path not in FILES:
                self._send(404, b"not found", "text/plain; charset=utf-8")
                return
            name, content_type = FILES[path]
            self._send(200, (STATIC / name).read_bytes(), content_type)

        def do_POST(self) -> None:
            if not self._trusted():
                return
            route = self.path.split("?", 1)[0]
            if route not in ROUTES:
                self._send(404, b"not found", "text/plain; charset=utf-8")
                return
            # JSON only: a cross-site page cannot send that without a CORS preflight, which is never granted
            if not self.headers.get("Content-Type", "").startswith("application/json"):
                self._error(415, "malformed message: Content-Type must be application/json")
                return
            try:
                length = int(self.headers.get("Content-Length", "0"))
            except ValueError:
                length = -1
            if not 0 <= length <= MAX_BODY:
                self._error(413, f"malformed message: body must be 0 to {MAX_BODY} bytes")
                return
            try:
                msg = decode_message(self.rfile.read(length))
            except ProtocolError as exc:
                self._error(400, str(exc))
                return
            with lock:
                if route == "/search-api":
                    if "search" not in state:
                        state["search"] = SearchSession()
                    reply = state["search"].handle(msg)
                elif route == "/neural-api":
                    reply = _neural_reply(state, msg)
                else:
                    reply = session.handle(msg)
            self._json(400 if reply.get("type") == "error" else 200, reply)

    server = ExplorerServer((host, port), Handler)
    bound_port = int(server.server_address[1])
    state.update(allowed=allowed_hosts(host, bound_port), port=bound_port, wildcard=host in ("0.0.0.0", "::"))
    return server


def _neural_reply(state: dict[str, Any], msg: Any) -> dict[str, Any]:
    """The neural view's reply; its session (and JAX) is imported and made on the first message."""
    if "neural" not in state:
        try:
            from dynaplan.explore.neural_view import NeuralSession
        except ImportError as exc:  # without the deep extra: dynaplan.neural's one line
            return {"type": "error", "message": f"the neural view needs JAX: {' '.join(str(exc).split())}"}
        state["neural"] = NeuralSession()
    return state["neural"].handle(msg)  # type: ignore[no-any-return]


def check_address(host: str, port: Any) -> None:
    """``ValueError`` (one line naming the option) for a port or host that cannot be served."""
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise ValueError(f"--port: expected an integer in [0, 65535], got {port!r}")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if host != "localhost":
            try:
                socket.getaddrinfo(host, None)
            except (OSError, UnicodeError):
                raise ValueError(f"--host {host}: not an address of this machine (an IP address or a host name)") \
                    from None


def serve(maze: str | Path | None = None, agent: str = "dyna-q", host: str = "127.0.0.1", port: int = 8765,
          seed: int = 0) -> None:
    """Run the explorer page until interrupted (the body of ``dynaplan explore``).

    Bad input (a maze file, an agent name, a port or host) raises ``ValueError`` with one line; an
    interrupt (Ctrl-C, SIGTERM) propagates after the socket is closed, for the command's exit status.
    """
    from dynaplan.envs.layouts import DYNA_MAZE, load_layout

    check_address(host, port)
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
        raise ValueError(f"--host {host} --port {port}: cannot listen there ({exc.strerror or exc})") from None
    shown = f"[{host}]" if ":" in host else host
    print(f"dynaplan explorer on http://{shown}:{server.server_address[1]}/  (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
