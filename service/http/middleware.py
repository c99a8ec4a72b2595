"""ASGI middleware: request id + access log + request metrics, and the request-size limit.

Both are plain ASGI (not ``BaseHTTPMiddleware``) so streaming responses (SSE, JSONL) pass through
untouched. The access log records method, route, status and duration; never headers or query
strings, so credentials cannot leak into logs.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.http.metrics import ServiceMetrics
from service.logging_setup import request_id_var

access_logger = logging.getLogger("dialogforge.access")
logger = logging.getLogger(__name__)
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
REQUEST_ID_HEADER = "x-request-id"


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


async def send_json_error(send: Send, status: int, error: str, message: str, request_id: str) -> None:
    """Send a complete JSON error response."""
    body = json.dumps({"error": error, "message": message, "request_id": request_id}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class RequestContextMiddleware:
    """Give each request an id (``X-Request-ID``, echoed back), log it and count it."""

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics) -> None:
        """Wrap ``app``."""
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request inside its request-id context."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = _header(scope, REQUEST_ID_HEADER.encode())
        request_id = given if given and _REQUEST_ID.match(given) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        status = 500
        started_response = False
        t0 = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status, started_response
            if message["type"] == "http.response.start":
                status, started_response = message["status"], True
                message["headers"] = [*message.get("headers", []), (REQUEST_ID_HEADER.encode(), request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            logger.exception("unhandled error")
            if not started_response:
                await send_json_error(
                    send, 500, "internal_error", f"internal error (request id {request_id})", request_id
                )
            status = 500
        finally:
            seconds = time.perf_counter() - t0
            route = getattr(scope.get("route"), "path", "(unmatched)")
            access_logger.info(
                "%s %s %d",
                scope["method"],
                route,
                status,
                extra={
                    "request_id": request_id,
                    "method": scope["method"],
                    "route": route,
                    "status": status,
                    "duration_ms": round(seconds * 1000, 2),
                },
            )
            self.metrics.observe_request(scope["method"], route, status, seconds)
            request_id_var.reset(token)


class BodySizeLimitMiddleware:
    """Refuse request bodies larger than ``max_bytes`` with 413 (declared or streamed)."""

    def __init__(self, app: ASGIApp, max_bytes: int, uploads: dict[str, int] | None = None) -> None:
        """Wrap ``app``; ``uploads`` gives paths that take files their own (larger) bound."""
        self.app, self.max_bytes, self.uploads = app, max_bytes, uploads or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check Content-Length up front and count streamed bytes."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.uploads.get(scope.get("path", ""), self.max_bytes)
        declared = _header(scope, b"content-length")
        too_large = f"request body is larger than {limit} bytes; send a smaller body"
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await send_json_error(send, 413, "request_too_large", too_large, request_id_var.get())
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise HTTPException(413, too_large)
            return message

        await self.app(scope, counting_receive, send)
