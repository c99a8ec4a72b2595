"""A base for mock chat platform APIs on loopback (aiohttp): recorded calls, waiting, failures on demand.

A subclass adds its routes in :meth:`routes`; each handler calls :meth:`record` and may first
call :meth:`injected` to answer with a failure queued by :meth:`fail_next`.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class Call:
    """One request the mock received."""

    method: str
    params: dict[str, Any]
    at: float
    status: int = 200
    body: bytes = b""
    response: dict[str, Any] = field(default_factory=dict)


class PlatformMock:
    """Serve a platform's API on a free loopback port and record every call."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.base_url = ""
        self._failures: dict[str, list[tuple[int, dict[str, Any], dict[str, str]]]] = {}
        self._runner: web.AppRunner | None = None

    def routes(self, app: web.Application) -> None:
        """Add the platform's routes (subclasses)."""
        raise NotImplementedError

    def texts(self) -> list[str]:
        """Return the text of every message the bot sent, in order (subclasses)."""
        raise NotImplementedError

    def summary_sent(self) -> bool:
        """Whether the bot sent a job's end-of-job summary."""
        return any("samples accepted" in text for text in self.texts())

    def calls_to(self, method: str, status: int | None = 200) -> list[Call]:
        """Return the calls to one method (only those answered with ``status``; None = all)."""
        return [c for c in self.calls if c.method == method and (status is None or c.status == status)]

    def fail_next(self, method: str, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        """Answer the next call to ``method`` with this failure."""
        self._failures.setdefault(method, []).append((status, body, headers or {}))

    def injected(self, method: str, params: dict[str, Any]) -> web.Response | None:
        """Return a queued failure for this call (recording it), or None."""
        queue = self._failures.get(method)
        if not queue:
            return None
        status, body, headers = queue.pop(0)
        self.calls.append(Call(method, params, time.monotonic(), status=status, response=body))
        return web.json_response(body, status=status, headers=headers)

    def record(self, method: str, params: dict[str, Any], response: dict[str, Any], body: bytes = b"") -> web.Response:
        """Record a successful call and answer it with ``response``."""
        self.calls.append(Call(method, params, time.monotonic(), body=body, response=response))
        return web.json_response(response)

    async def wait_for(self, predicate: Callable[[Any], bool], timeout: float = 30.0) -> None:
        """Wait until ``predicate(self)`` is true (polling every 50 ms), or fail."""
        deadline = time.monotonic() + timeout
        while not predicate(self):
            if time.monotonic() > deadline:
                summary = [(c.method, c.status) for c in self.calls]
                raise AssertionError(f"timed out waiting; calls so far: {summary}")
            await asyncio.sleep(0.05)

    async def start(self) -> str:
        """Serve on a free loopback port; return the base URL."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        self.routes(app)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}"
        return self.base_url

    async def stop(self) -> None:
        """Stop serving."""
        if self._runner is not None:
            await self._runner.cleanup()


class LoopThread:
    """An event loop in a thread, to serve the async mocks beside synchronous subprocess code."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coroutine: Any) -> Any:
        """Run a coroutine on the loop and return its result (30 s at most)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(30)

    def close(self) -> None:
        """Stop the loop and its thread."""
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
