"""Serve the real app (``create_app``) with uvicorn on loopback, in process (chat bot and HTTP tests)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import uvicorn

from service.http.app import create_app
from service.settings import Settings
from tests.fakes import FakeEmbedder, fake_role_models


@asynccontextmanager
async def serving(app: Any) -> AsyncIterator[str]:
    """Serve an ASGI app with uvicorn on a free loopback port (lifespan on); yield its base URL."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    for _ in range(400):
        if server.started:
            break
        await asyncio.sleep(0.025)
    assert server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=30)


@asynccontextmanager
async def served_app(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    """Yield an HTTP client of the running app and the app (fake LLM models and embedder)."""
    app = create_app(settings, models=fake_role_models(), embedder=FakeEmbedder())
    async with serving(app) as base_url, httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        yield client, app


async def job_count(app: Any) -> int:
    """Return how many jobs the app's manager knows."""
    page = await app.state.manager.list()
    return int(page.total)


# The test's own HTTP client (httpx) logs the signed requests it sends; the server's httpx calls (lark-oapi)
# log URLs and response headers only, never request headers.
CLIENT_LOGGERS = ("httpx", "httpcore")


def leaked(records: list[logging.LogRecord], secrets: list[str]) -> list[str]:
    """Return the server's log lines (message and traceback) that show any of the secrets (8+ characters)."""
    secrets = [secret for secret in secrets if len(secret) >= 8]
    lines = []
    for record in records:
        if record.name.split(".")[0] in CLIENT_LOGGERS:
            continue
        text = record.getMessage() + (record.exc_text or "") + str(record.exc_info or "")
        if any(secret in text for secret in secrets):
            lines.append(f"{record.name}: {text[:200]}")
    return lines
