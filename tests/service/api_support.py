"""Helpers for the HTTP API tests: the real app (lifespan run) with fake models, over ASGI (no sockets)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import yaml
from fastapi import FastAPI

from agents.llm import RoleModels
from agents.styles import builtin_styles
from service.http.app import create_app
from service.settings import Settings
from tests.fakes import FakeEmbedder, SlowChatModel, fake_role_models, template_responder

TEST_STYLE = "t-gentle"


def slow_role_models(delay_s: float) -> RoleModels:
    """Build RoleModels whose roles answer valid JSON after a delay."""
    model = SlowChatModel(responder=template_responder, delay_s=delay_s)
    names = {"generator": "fake", "judge": "fake", "rewriter": "fake", "topics": "fake"}
    return RoleModels(generator=model, judge=model, rewriter=model, topics=model, names=names)


def style_pack_yaml(name: str = TEST_STYLE, base: str = "gentle", **updates: Any) -> str:
    """Return a shipped pack renamed, without the exemplar-similarity bound the fake embedder fails."""
    changes = {"name": name, "aliases": [], "min_exemplar_similarity": None, **updates}
    pack = builtin_styles()[base].model_copy(update=changes)
    return yaml.safe_dump(pack.model_dump(mode="json"), allow_unicode=True)


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Settings for a test app: a tmp data dir, no LLM URL needed (models are injected)."""
    return Settings(_env_file=None, data_dir=data_dir, shutdown_grace_s=5, **overrides)  # type: ignore[call-arg]


@asynccontextmanager
async def api_client(
    data_dir: Path,
    *,
    models: RoleModels | None = None,
    register_style: bool = True,
    headers: dict[str, str] | None = None,
    **overrides: Any,
) -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI]]:
    """Run the real app's lifespan and yield an ASGI client (and the app)."""
    app = create_app(make_settings(data_dir, **overrides), models=models or fake_role_models(), embedder=FakeEmbedder())
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        client = httpx.AsyncClient(transport=transport, base_url="http://test", headers=headers, timeout=60)
        async with client:
            if register_style:
                answer = await client.post("/v1/styles", json={"yaml": style_pack_yaml()})
                assert answer.status_code in (200, 201), answer.text
            yield client, app


async def wait_for_status(client: httpx.AsyncClient, job_id: str, statuses: set[str], timeout: float = 30) -> dict:
    """Poll a job until its status is one of ``statuses``; return it."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        job = (await client.get(f"/v1/jobs/{job_id}")).json()
        if job["status"] in statuses:
            return job
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"job {job_id} still {job['status']} after {timeout} s")
        await asyncio.sleep(0.02)


def parse_sse(text: str) -> list[dict[str, Any]]:
    """Parse an SSE body into events ({'event', 'id', 'data'} with data decoded from JSON)."""
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        fields: dict[str, Any] = {}
        for line in block.splitlines():
            if line.startswith(":") or ":" not in line:
                continue
            key, value = line.split(":", 1)
            fields[key] = value[1:] if value.startswith(" ") else value
        if "data" in fields:
            fields["data"] = json.loads(fields["data"])
            events.append(fields)
    return events
