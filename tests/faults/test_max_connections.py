"""``DIALOGFORGE_MAX_CONNECTIONS`` against the real server process: past the cap a request gets 503, not a hang.

The cap is uvicorn's ``limit_concurrency``: a request is refused while the open connections
(its own included) reach the cap. The test holds connections open with half-sent headers (the
header deadline is 600 s here, so nothing closes them meanwhile), checks that the request that
reaches the cap gets 503 and one below it 200, then frees a connection and sees 200 again.
No step depends on how fast the machine is: every wait is a poll with a generous deadline.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path

from tests.integration.serve_support import FAKE_MODELS, NO_LLM, Server, report

CAP = 4
GIVE_UP_S = 60.0


def status_of_one_request(server: Server) -> int:
    """Send GET /healthz on a new connection and return the status code."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=GIVE_UP_S) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return int(answer.split(b" ", 2)[1])


def held_connection(server: Server) -> socket.socket:
    """Open a connection that has started a request and sends the rest of its headers later (never, here)."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=GIVE_UP_S)
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\n")
    return sock


def poll_until(server: Server, wanted: int) -> int:
    """Repeat one request until it answers ``wanted`` (the server sees a close a moment after we make it)."""
    deadline = time.monotonic() + GIVE_UP_S
    while (status := status_of_one_request(server)) != wanted and time.monotonic() < deadline:
        time.sleep(0.1)
    return status


def test_the_connection_that_reaches_the_cap_gets_503_and_a_freed_place_serves_again(tmp_path: Path) -> None:
    env = {"DIALOGFORGE_MAX_CONNECTIONS": str(CAP), "DIALOGFORGE_HEADER_TIMEOUT_S": "600"}
    server = Server(tmp_path / "data", NO_LLM, tmp_path / "server.log", env=env, prelude=FAKE_MODELS)
    held: list[socket.socket] = []
    try:
        assert status_of_one_request(server) == 200
        held = [held_connection(server) for _ in range(CAP - 2)]
        below = poll_until(server, 200)  # CAP - 1 connections with this one: served
        held.append(held_connection(server))
        at_cap = poll_until(server, 503)  # CAP with this one: refused
        held.pop().close()
        freed = poll_until(server, 200)
        assert (below, at_cap, freed) == (200, 503, 200)
        for sock in held:  # the held connections were never cut: they still finish their request
            sock.sendall(b"Connection: close\r\n\r\n")
            assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        report("max connections", cap=CAP, below_cap=below, at_cap=at_cap, after_a_close=freed)
    finally:
        for sock in held:
            sock.close()
        server.stop()
