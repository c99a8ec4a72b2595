"""Serve the real app (``create_app``) with uvicorn on loopback for the chat bot tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import uvicorn

from service.http.app import create_app
from service.settings import Settings
from tests.fakes import FakeEmbedder, fake_role_models


@asynccontextmanager
async def served_app(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    """Yield an HTTP client of the running app and the app (fake LLM models and embedder)."""
    app = create_app(settings, models=fake_role_models(), embedder=FakeEmbedder())
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on"))
    serving = asyncio.create_task(server.serve())
    for _ in range(400):
        if server.started:
            break
        await asyncio.sleep(0.025)
    assert server.started, "uvicorn did not start"
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            yield client, app
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, timeout=30)


async def job_count(app: Any) -> int:
    """Return how many jobs the app's manager knows."""
    page = await app.state.manager.list()
    return int(page.total)
