"""Slow clients: a connection must send its request headers, and keep its body coming, within bounds.

uvicorn (0.5x) has no header or body read timeout: a connection that sends half its headers, or
a body that stalls, is held until the client goes away (the issue's review held them 10 s and
more; a few thousand such connections would exhaust the server). :func:`slow_client_protocol`
returns uvicorn's httptools protocol with two deadlines added:

- the headers must be complete ``header_timeout_s`` after the connection opens (or, on a kept-alive
  connection, after the next request's first byte);
- while the body is arriving, no more than ``body_timeout_s`` may pass between two chunks, and
  after the first ``body_timeout_s`` it must average at least ``MIN_BODY_BYTES_PER_S`` (1 KiB/s),
  so a body trickled a byte at a time cannot hold a connection for hours (a slow POST).

A connection that misses a deadline gets ``408 Request Timeout`` (when no response has started)
and is closed (a FIN first, see ``LINGER_S``), without a log line (an unauthenticated client must
not fill the logs). Idle kept-alive connections are closed by uvicorn's own ``timeout_keep_alive``, and the number of
connections is capped by its ``limit_concurrency`` (503 beyond). A service on the public internet
should still sit behind a reverse proxy (TLS, per-client limits): see docs/service.md.
"""

from __future__ import annotations

import asyncio
import json
import time

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

_BODY = json.dumps(
    {"error": "request_timeout", "message": "the request was not sent in time; send it again", "request_id": "-"}
).encode()
TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\nconnection: close\r\n"
    + f"content-length: {len(_BODY)}\r\n\r\n".encode()
    + _BODY
)
MIN_BODY_BYTES_PER_S = 1024  # a real upload over the slowest link still sends this much
LINGER_S = 2.0
"""How long a cut connection still reads (and drops) what the client sends after the 408.

Closing a socket with unread bytes sends a TCP reset, which can reach the client before it has read
the 408 (it then sees "connection reset" instead of the answer): the response goes out with a FIN
(``write_eof``), and the connection is closed when the client closes its end, or after this."""


class SlowClientProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a header deadline, and a body idle deadline and minimum rate."""

    header_timeout_s = 10.0
    body_timeout_s = 30.0
    _deadline: asyncio.TimerHandle | None = None
    _body_started = 0.0
    _body_bytes = 0
    _lingering = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the header deadline as the connection opens."""
        super().connection_made(transport)
        self._arm(self.header_timeout_s)

    def data_received(self, data: bytes) -> None:
        """Parse what arrives, unless the connection was cut: then it is read and dropped."""
        if self._lingering:
            return
        super().data_received(data)

    def on_message_begin(self) -> None:
        """Start the header deadline at a kept-alive connection's next request (the first keeps running)."""
        super().on_message_begin()
        if self._deadline is None:
            self._arm(self.header_timeout_s)

    def on_headers_complete(self) -> None:
        """The headers are in: from now on the body must keep coming."""
        super().on_headers_complete()
        self._body_started, self._body_bytes = time.monotonic(), 0
        self._arm(self.body_timeout_s)

    def on_body(self, body: bytes) -> None:
        """A chunk of the body arrived: the next must follow within ``body_timeout_s``, and the rate hold."""
        super().on_body(body)
        self._body_bytes += len(body)
        rate_deadline = self._body_started + self.body_timeout_s + self._body_bytes / MIN_BODY_BYTES_PER_S
        self._arm(max(0.0, min(self.body_timeout_s, rate_deadline - time.monotonic())))

    def on_message_complete(self) -> None:
        """The whole request is in: no deadline while the app answers (an event stream may run for hours)."""
        super().on_message_complete()
        self._disarm()

    def connection_lost(self, exc: Exception | None) -> None:
        """Drop the deadline with the connection."""
        self._disarm()
        super().connection_lost(exc)

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._timed_out)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _timed_out(self) -> None:
        self._deadline = None
        if self.transport is None or self.transport.is_closing():
            return
        if self.cycle is None or not self.cycle.response_started:
            self.transport.write(TIMEOUT_RESPONSE)
        if not self.transport.can_write_eof():
            self.transport.close()
            return
        self._lingering = True
        self.transport.write_eof()
        self.transport.resume_reading()  # flow control may have paused it: unread bytes would reset
        self.loop.call_later(LINGER_S, self.transport.close)


def slow_client_protocol(header_timeout_s: float, body_timeout_s: float) -> type[SlowClientProtocol]:
    """Return the protocol class to pass as ``uvicorn.run(..., http=...)`` with these deadlines."""
    attributes = {"header_timeout_s": header_timeout_s, "body_timeout_s": body_timeout_s}
    return type("ConfiguredSlowClientProtocol", (SlowClientProtocol,), attributes)
