"""The explorer's edges (issue 20): every message bounded in work and memory, every malformed one
answered with one error line, configure all or nothing, the server checked against DNS rebinding,
IPv6, many clients at once, and ``dynaplan explore`` ending on SIGTERM with status 143."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dynaplan
from dynaplan.explore.server import MAX_DEPTH, make_server
from dynaplan.explore.session import (
    LAYOUTS,
    MAX_FLASHES,
    MAX_MESSAGE_WORK,
    MAX_STEP_WORK,
    MAZE_10X10,
    Session,
    agent_catalog,
)


@contextmanager
def served(session: Session, host: str = "127.0.0.1"):
    server = make_server(session, host, 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def request(port: int, body: bytes | None = None, headers: dict[str, str] | None = None, host: str = "127.0.0.1",
            path: str = "/api") -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(host, port, timeout=30)
    try:
        hdrs = {"Content-Type": "application/json"} if body is not None else {}
        hdrs.update(headers or {})
        conn.request("POST" if body is not None else "GET", path, body=body, headers=hdrs)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_a_huge_planning_budget_stays_bounded_in_memory_and_work():
    # the case: configure planning_steps=20000, then step 10000 (1.75 GB before)
    session = Session(MAZE_10X10, seed=0)
    assert session.handle({"type": "configure", "lanes": [{"agent": "dyna-q", "params": {"planning_steps": 20000}}]})[
        "type"] == "frame"
    session.handle({"type": "step", "steps": 1})  # compiled before memory is counted
    tracemalloc.start()
    try:
        t0 = time.perf_counter()
        reply = session.handle({"type": "step", "steps": 10000})
        seconds = time.perf_counter() - t0
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    lane = reply["lanes"][0]
    # the message took as many real steps as fit its budget, each with its 20,000 planning updates
    assert reply["stepped"] == MAX_MESSAGE_WORK // 20001 < 10000
    assert lane["counters"] == {"real_steps": 1 + reply["stepped"], "planning_updates": 20000 * (1 + reply["stepped"]),
                                "episodes": lane["counters"]["episodes"]}
    assert lane["flash_total"] == 20000 * reply["stepped"] and len(lane["flashes"]) == MAX_FLASHES
    assert peak < 20e6, peak  # bytes
    assert seconds < 30
    # a budget no step can fit is refused in one line, and the session keeps what it had
    reply = session.handle({"type": "configure", "lanes": [{"agent": "dyna-q", "params": {"planning_steps": 10**12}}]})
    assert reply["type"] == "error" and "updates" in reply["message"] and "\n" not in reply["message"]
    assert session.lanes[0].agent.params["planning_steps"] == 20000
    for params in ({"depth": 30}, {"depth": 12}):
        reply = session.handle({"type": "configure", "lanes": [{"agent": "lookahead", "params": params}]})
        assert reply["type"] == "error" and f"{MAX_STEP_WORK:,}" in reply["message"], reply


def test_configure_is_all_or_nothing():
    session = Session(seed=0)
    session.step(20)
    configs, lanes = session.configs, session.lanes
    # the first lane is fine, the second cannot be built: nothing changes
    specs = [{"agent": "dyna-q", "params": {"planning_steps": 50}},
             {"agent": "dyna-q", "params": {"planning_steps": 10**12}}]
    reply = session.handle({"type": "configure", "seed": 9, "lanes": specs})
    assert reply["type"] == "error" and reply["message"].startswith("lanes[1]: dyna-q: ")
    assert session.configs is configs and session.lanes is lanes and session.seed == 0
    assert session.lanes[0].real_steps == 20
    hello = session.handle({"type": "hello"})
    assert hello["config"] == {"lanes": [{"agent": "dyna-q", "params": {}}], "seed": 0}
    # and every later message works as before
    assert session.handle({"type": "reset"})["type"] == "frame"
    assert session.handle({"type": "step", "steps": 3})["lanes"][0]["counters"]["real_steps"] == 3


MALFORMED = [
    {"type": "layout", "name": [1]},
    {"type": "layout", "name": {"a": 1}},
    {"type": "edit", "tool": ["wall"], "cells": [[0, 0]]},
    {"type": "edit", "tool": {}, "cells": [[0, 0]]},
    {"type": "step", "steps": 10**5000},
    {"type": "configure", "lanes": [{"agent": "dyna-q", "params": {"alpha": 10**5000}}]},
    {"type": "configure", "lanes": [{"agent": "dyna-q", "params": {"epsilon": "x" * 100_000}}]},
    {"type": "configure", "lanes": [{"agent": ["dyna-q"]}]},
    {"type": "hello", "id": 10**5000},
    {"type": [[[[[[[[[[[]]]]]]]]]]]},
    {"type": "configure", "lanes": [[[[[[[[[[[[]]]]]]]]]]]]},
]


def _deep(n: int) -> list:
    out: list = []
    for _ in range(n):
        out = [out]
    return out


@pytest.mark.parametrize("msg", MALFORMED, ids=range(len(MALFORMED)))
def test_every_malformed_message_gets_one_error_line(msg):
    session = Session(seed=0)
    reply = session.handle(msg)
    assert reply["type"] == "error" and "\n" not in reply["message"] and len(reply["message"]) < 400, reply
    assert "internal error" not in reply["message"]


def test_the_server_answers_every_malformed_body_and_keeps_serving():
    session = Session(seed=0)
    bodies = [
        json.dumps({"type": "layout", "name": [1]}).encode(),
        b"[" * 100_000 + b"]" * 100_000,
        b'{"type": "step", "steps": ' + b"7" * 5000 + b"}",
        b"1" * 5000,
        b'{"type": "step", "steps": NaN}',
        b"\xff\xfe",
        json.dumps({"type": "hello", "x": _deep(MAX_DEPTH + 5)}).encode(),
    ]
    with served(session) as port:
        for body in bodies:
            status, raw = request(port, body)
            reply = json.loads(raw)
            assert status == 400 and reply["type"] == "error", (body[:40], reply)
            assert "\n" not in reply["message"] and "internal error" not in reply["message"]
        status, raw = request(port, b'{"type": "step", "steps": 2}')
        assert status == 200 and json.loads(raw)["lanes"][0]["counters"]["real_steps"] == 2


def test_host_and_origin_must_name_this_server():
    with served(Session(seed=0)) as port:
        ok = json.dumps({"type": "frame"}).encode()
        assert request(port, ok)[0] == 200
        assert request(port, ok, {"Host": f"localhost:{port}", "Origin": f"http://127.0.0.1:{port}"})[0] == 200
        for headers in ({"Host": "attacker.example"}, {"Host": f"attacker.example:{port}"},
                        {"Host": f"127.0.0.1:{port + 1}"}, {"Origin": "http://attacker.example"},
                        {"Origin": f"http://attacker.example:{port}"}, {"Origin": "null"}):
            status, raw = request(port, ok, headers)
            assert status == 403 and json.loads(raw)["message"].startswith("refused:"), headers
            status, _ = request(port, None, headers, path="/")
            assert status == 403, headers
        assert request(port, None, path="/explorer.js")[0] == 200


@pytest.mark.skipif(not socket.has_ipv6, reason="no IPv6 in this Python")
def test_serves_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback on this machine")
    with served(Session(seed=0), "::1") as port:
        status, raw = request(port, b'{"type": "step", "steps": 1}', host="::1")
        assert status == 200 and json.loads(raw)["lanes"][0]["counters"]["real_steps"] == 1


def test_a_hundred_clients_at_once():
    session = Session(seed=0)
    with served(session) as port:
        barrier = threading.Barrier(100)

        def client(i: int) -> int:
            barrier.wait()
            status, raw = request(port, json.dumps({"type": "step", "steps": 1, "id": i}).encode())
            assert json.loads(raw)["id"] == i
            return status

        with ThreadPoolExecutor(100) as pool:
            statuses = list(pool.map(client, range(100)))
    assert statuses == [200] * 100
    assert session.lanes[0].real_steps == 100


def test_explore_ends_on_sigterm_with_status_143():
    proc = subprocess.Popen([sys.executable, "-m", "dynaplan.cli", "explore", "--port", "0"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        line = proc.stdout.readline()
        assert "dynaplan explorer on http://127.0.0.1:" in line
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 143
        assert "Traceback" not in proc.stderr.read()
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize("argv", [["--port", "-1"], ["--port", "70000"], ["--host", "999.1.1.1"]])
def test_explore_bad_address_is_one_line(argv, capsys):
    from dynaplan.cli import main

    assert main(["explore", *argv]) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and argv[0] in lines[0] and "Traceback" not in err, err


# -- a fuzz test over the messages --------------------------------------------------------------
SMALL = st.one_of(st.integers(-3, 60), st.integers(-(2**70), 2**70), st.floats(allow_nan=True, allow_infinity=True),
                  st.booleans(), st.text(max_size=12), st.none())
JSONISH = st.recursive(SMALL, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                                           max_size=4), max_leaves=12)
PARAM_NAMES = sorted({k for entry in agent_catalog().values() for k in entry["params"]})
LANE = st.fixed_dictionaries({"agent": st.sampled_from([*dynaplan.AGENTS, "nope"])},
                             optional={"params": st.dictionaries(st.sampled_from(PARAM_NAMES), SMALL, max_size=3)})
MESSAGES = st.one_of(
    JSONISH,
    st.builds(lambda n: {"type": "step", "steps": n}, st.one_of(st.integers(-2, 40), st.integers(), SMALL)),
    st.builds(lambda lanes, seed: {"type": "configure", "lanes": lanes, "seed": seed},
              st.one_of(st.lists(LANE, min_size=1, max_size=2), JSONISH), st.integers(-1, 2**64)),
    st.builds(lambda name: {"type": "layout", "name": name}, st.one_of(st.sampled_from(list(LAYOUTS)), JSONISH)),
    st.builds(lambda text: {"type": "layout", "text": text}, st.text(alphabet="#.SG\n x", max_size=60)),
    st.builds(lambda tool, cells: {"type": "edit", "tool": tool, "cells": cells},
              st.one_of(st.sampled_from(["wall", "free", "start", "goal"]), JSONISH),
              st.one_of(st.lists(st.lists(st.integers(-2, 12), min_size=2, max_size=2), max_size=5), JSONISH)),
    st.sampled_from([{"type": "hello"}, {"type": "reset"}, {"type": "frame"}]),
)


@settings(max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(MESSAGES, min_size=1, max_size=4))
def test_fuzz_every_message_gets_a_reply_or_one_error_line(messages):
    session = Session(seed=0)
    for msg in messages:
        t0 = time.perf_counter()
        reply = session.handle(msg)
        assert time.perf_counter() - t0 < 20
        assert reply["type"] in ("frame", "init", "error")
        if reply["type"] == "error":
            assert "\n" not in reply["message"] and len(reply["message"]) < 600
            assert "internal error" not in reply["message"], (msg, reply)
        else:
            assert len(json.dumps(reply)) < 2_000_000
        for lane in session.lanes:
            assert len(lane.flashes) <= MAX_FLASHES
    # whatever came before, the session still answers a plain step
    assert session.handle({"type": "step", "steps": 1})["type"] == "frame"
