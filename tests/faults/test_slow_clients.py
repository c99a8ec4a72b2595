"""Slow clients against the real server process: half-sent headers and stalled bodies are cut off.

uvicorn alone holds such connections until the client leaves; ``dialogforge serve`` closes them
with 408 after ``DIALOGFORGE_HEADER_TIMEOUT_S`` / ``DIALOGFORGE_BODY_TIMEOUT_S`` (1 s here).
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator

import pytest

from benchmarks.loopback import fake_llm_server
from tests.integration.serve_support import Server, report

GIVE_UP_S = 20  # far above the 1 s deadlines: only a server that never cuts the connection fails


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    directory = tmp_path_factory.mktemp("slow-clients")
    with fake_llm_server(0.05) as llm_url:
        process = Server(
            directory / "data",
            llm_url,
            directory / "server.log",
            env={"DIALOGFORGE_HEADER_TIMEOUT_S": "1", "DIALOGFORGE_BODY_TIMEOUT_S": "1"},
        )
        yield process
        process.stop()


def held_for(server: Server, sent: bytes, trickle: bytes = b"") -> tuple[float, bytes]:
    """Send ``sent``, then ``trickle`` one byte every 0.2 s; return how long the connection lasted and the answer."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=GIVE_UP_S) as sock:
        started = time.monotonic()
        if sent:
            sock.sendall(sent)
        sock.settimeout(0.2 if trickle else GIVE_UP_S)
        answer, pending = b"", iter(trickle)
        while time.monotonic() - started < GIVE_UP_S:
            try:
                if not (chunk := sock.recv(4096)):
                    return time.monotonic() - started, answer
                answer += chunk
            except TimeoutError:
                if (byte := next(pending, None)) is not None:
                    with contextlib.suppress(OSError):  # the server may close between two bytes
                        sock.sendall(bytes([byte]))
        pytest.fail(f"the server still held the connection after {GIVE_UP_S} s")


@pytest.mark.parametrize(
    "sent",
    [
        b"",
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Half",
        b'POST /v1/styles HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"yaml":',
    ],
    ids=["nothing", "half-headers", "short-body"],
)
def test_a_slow_client_gets_408_and_is_closed(server: Server, sent: bytes) -> None:
    seconds, answer = held_for(server, sent)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b'"error": "request_timeout"' in answer or b'"error":"request_timeout"' in answer
    assert server.get("/healthz").status_code == 200
    log = server.log_tail(100_000)
    assert "Traceback" not in log and "Invalid HTTP request" not in log, log[-2000:]  # cut off quietly
    report("slow client", sent_bytes=len(sent), held_s=round(seconds, 2), status=408)


def test_a_trickled_body_is_cut_when_it_falls_below_the_minimum_rate(server: Server) -> None:
    head = b"POST /v1/styles HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n"
    seconds, answer = held_for(server, head, trickle=b"{" + b" " * 399)  # 5 bytes/s: 80 s if never cut
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert server.get("/healthz").status_code == 200
    report("trickled body", bytes_per_s=5, held_s=round(seconds, 2), status=408)


def test_a_complete_request_and_a_long_stream_are_not_cut(server: Server) -> None:
    request = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    seconds, answer = held_for(server, request)
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
    job = server.post("/v1/jobs", {"style": "gentle", "n": 3, "concurrency": 1}).json()
    started = time.monotonic()
    events = server.get(f"/v1/jobs/{job['id']}/events")  # streams for longer than the deadlines
    assert events.status_code == 200 and "event: end" in events.text
    report("complete requests", healthz_s=round(seconds, 2), event_stream_s=round(time.monotonic() - started, 2))
