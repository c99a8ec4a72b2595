"""Retries and reachability against a real loopback fake OpenAI-compatible server (aiohttp)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from langchain_core.messages import HumanMessage

from agents.answers import draft_schema
from agents.llm import LLMConfig, LLMUnreachableError, build_role_models, check_reachable
from agents.structured import ask_structured
from benchmarks.loopback import free_port

SECRET = "sk-test-secret-999"
DIALOGUE_JSON = '{"exchanges": [{"user": "hi", "assistant": "hello"}]}'


def completion(content: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": "fake-model",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 12, "completion_tokens": 8, "total_tokens": 20},
    }


class FlakyServer:
    """Answer 429 (Retry-After: 1), then 503, then 200; record when each request came."""

    def __init__(self) -> None:
        self.arrivals: list[float] = []
        self.bodies: list[dict[str, Any]] = []
        self.auth: list[str] = []

    async def chat(self, request: web.Request) -> web.Response:
        self.arrivals.append(time.monotonic())
        self.bodies.append(await request.json())
        self.auth.append(request.headers.get("Authorization", ""))
        if len(self.arrivals) == 1:
            return web.json_response({"error": {"message": "slow down"}}, status=429, headers={"Retry-After": "1"})
        if len(self.arrivals) == 2:
            return web.json_response({"error": {"message": "busy"}}, status=503)
        return web.json_response(completion(DIALOGUE_JSON))

    async def models(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {SECRET}":
            return web.json_response({"error": "bad key"}, status=401)
        return web.json_response({"object": "list", "data": [{"id": "fake-model", "object": "model"}]})


@pytest.fixture
async def flaky() -> AsyncIterator[tuple[FlakyServer, str]]:
    fake = FlakyServer()
    app = web.Application()
    app.router.add_post("/v1/chat/completions", fake.chat)
    app.router.add_get("/v1/models", fake.models)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield fake, f"http://127.0.0.1:{port}/v1"
    finally:
        await runner.cleanup()


async def test_call_succeeds_after_429_and_503_honouring_retry_after(flaky: tuple[FlakyServer, str]) -> None:
    fake, base_url = flaky
    models = build_role_models(LLMConfig(api_key=SECRET, generator_model="fake-model", max_retries=5), base_url)
    started = time.monotonic()
    reply = await ask_structured(models.generator, [HumanMessage("write one")], draft_schema(1), temperature=0.2)
    elapsed = time.monotonic() - started
    assert reply.parsed is not None, reply.error
    assert reply.usage.input_tokens == 12 and reply.usage.output_tokens == 8
    assert len(fake.arrivals) == 3
    assert fake.arrivals[1] - fake.arrivals[0] >= 0.95  # Retry-After: 1 was honoured
    assert elapsed >= 1.3  # plus an exponential back-off after the 503
    assert fake.bodies[-1]["response_format"]["type"] == "json_schema"
    assert fake.bodies[-1]["model"] == "fake-model"
    assert fake.auth[-1] == f"Bearer {SECRET}"


async def test_no_retries_means_the_429_surfaces(flaky: tuple[FlakyServer, str]) -> None:
    fake, base_url = flaky
    models = build_role_models(LLMConfig(api_key=SECRET, max_retries=0), base_url)
    with pytest.raises(Exception, match="429"):
        await models.judge.ainvoke([HumanMessage("x")])
    assert len(fake.arrivals) == 1


async def test_reachable_endpoint_passes_and_a_bad_key_is_named(flaky: tuple[FlakyServer, str]) -> None:
    _, base_url = flaky
    await check_reachable(base_url, SECRET, timeout=5)
    with pytest.raises(LLMUnreachableError, match="401") as caught:
        await check_reachable(base_url, "sk-wrong-key", timeout=5)
    assert "sk-wrong-key" not in str(caught.value)


async def test_unreachable_url_names_the_url_never_the_key() -> None:
    base_url = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(LLMUnreachableError) as caught:
        await check_reachable(base_url, SECRET, timeout=3)
    message = str(caught.value)
    assert message.startswith(f"cannot reach the LLM at {base_url}/models")
    assert SECRET not in message


def test_models_survive_successive_event_loops() -> None:
    """A CLI or a test suite may call asyncio.run several times with the same models."""
    ready = threading.Event()
    box: dict[str, Any] = {}

    async def chat(request: web.Request) -> web.Response:
        return web.json_response(completion("hi"))

    async def serve() -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", chat)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        box["port"], box["stop"] = runner.addresses[0][1], asyncio.Event()
        ready.set()
        await box["stop"].wait()
        await runner.cleanup()

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    assert ready.wait(10)
    try:
        models = build_role_models(LLMConfig(max_retries=0, timeout_s=10), f"http://127.0.0.1:{box['port']}/v1")
        for _ in range(3):
            answer = asyncio.run(models.generator.ainvoke([HumanMessage("x")]))
            assert answer.content == "hi"
    finally:
        loop.call_soon_threadsafe(box["stop"].set)
        thread.join(10)
