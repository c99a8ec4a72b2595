"""The Feishu bot through the real stack: uvicorn + FastAPI + lark-oapi, encrypted signed events, a mock Feishu.

Jobs use the ``empathetic-cs`` pack (alias ``cs``) with Chinese words around it: the fake
embedder cannot meet the Chinese packs' exemplar bound (the restart test uses ``温柔``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from graph.datasets.export import iter_jsonl_lines
from service.settings import Settings
from tests.integration.chat_stack import job_count, leaked, served_app
from tests.integration.feishu_mock import (
    APP_ID,
    APP_SECRET,
    ENCRYPT_KEY,
    TENANT_TOKEN,
    VERIFICATION_TOKEN,
    FeishuMock,
    encrypt,
    message_event,
    signed_request,
)

INTERVAL = 0.3
JOB_ID = re.compile(r"`([0-9a-f]{32})`")


SECRETS = [APP_SECRET, VERIFICATION_TOKEN, ENCRYPT_KEY, TENANT_TOKEN]


@dataclass
class Stack:
    mock: FeishuMock
    client: httpx.AsyncClient
    app: Any
    signatures: list[str] = field(default_factory=list)

    async def send(self, payload: dict[str, Any], **options: Any) -> httpx.Response:
        body, headers = signed_request(payload, **options)
        self.signatures.append(headers.get("X-Lark-Signature", ""))
        return await self.client.post("/feishu/events", content=body, headers=headers)


def feishu_settings(data_dir: Path, api_url: str) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=data_dir,
        FEISHU_APP_ID=APP_ID,
        FEISHU_APP_SECRET=APP_SECRET,
        FEISHU_VERIFICATION_TOKEN=VERIFICATION_TOKEN,
        FEISHU_ENCRYPT_KEY=ENCRYPT_KEY,
        feishu_api_url=api_url,
        feishu_progress_interval_s=INTERVAL,
        api_keys=None,
    )


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    mock = FeishuMock()
    async with served_app(feishu_settings(tmp_path, await mock.start())) as (client, app):
        yield Stack(mock, client, app)
    await mock.stop()


async def test_a_chinese_mention_runs_a_job_patches_one_card_and_sends_the_file(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    started = time.monotonic()
    response = await stack.send(message_event("生成 cs 3 条 sharegpt", event_id="ev-1"))
    assert response.status_code == 200 and time.monotonic() - started < 3
    mock = stack.mock
    await mock.wait_for(lambda mock: mock.summary_sent())
    replies = mock.calls_to("reply")
    request_id = replies[0].params["to"]
    assert "Started job" in json.loads(replies[0].params["content"])["text"]
    card = next(r for r in replies if r.params["msg_type"] == "interactive")
    assert card.params["to"] == request_id and json.loads(card.params["content"])["config"]["update_multi"] is True
    card_id = card.response["data"]["message_id"]
    patches = mock.calls_to("patch")
    assert patches and all(p.params["message_id"] == card_id for p in patches)
    assert "*3/3* accepted" in json.loads(patches[-1].params["content"])["elements"][0]["content"]
    gaps = [b.at - a.at for a, b in zip([card, *patches], patches, strict=False)]
    assert min(gaps) >= INTERVAL * 0.9, gaps
    job_id = JOB_ID.search(json.loads(replies[0].params["content"])["text"]).group(1)  # type: ignore[union-attr]
    samples = await stack.app.state.manager.samples(job_id)
    ((file_key, uploaded),) = mock.uploads.items()
    assert uploaded == "".join(iter_jsonl_lines(samples, "sharegpt")).encode() and len(uploaded.splitlines()) == 3
    (upload,) = mock.calls_to("file")
    assert upload.params == {"file_type": "stream", "file_name": f"empathetic-cs-{job_id}-sharegpt.jsonl"}
    file_message = next(r for r in replies if r.params["msg_type"] == "file")
    assert json.loads(file_message.params["content"]) == {"file_key": file_key} and file_message.params["to"] == card_id
    assert "3/3 empathetic-cs samples accepted" in mock.texts()[-1]
    assert any("started by" in r.getMessage() for r in caplog.records)  # the server's log is captured
    assert not leaked(caplog.records, SECRETS + stack.signatures)


async def test_bad_missing_and_stale_signatures_and_tokens_get_401_and_no_job(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    event = message_event("cs 2", event_id="ev-bad")
    cases = [
        signed_request(event, sign_with="wrong-key"),
        signed_request(event, timestamp=int(time.time()) - 3600),
        signed_request(event, key="another-encrypt-key"),  # does not decrypt with ours
        signed_request(message_event("cs 2", token="wrong-token")),
        signed_request(event, key=None),  # plain and unsigned although an encrypt key is set
    ]
    body, headers = signed_request(event)
    cases.append((body, {"Content-Type": "application/json"}))  # signature headers missing
    for body, headers in cases:
        response = await stack.client.post("/feishu/events", content=body, headers=headers)
        assert response.status_code == 401, response.text
        assert response.json()["error"] == "unauthorized"
        assert ENCRYPT_KEY not in response.text and VERIFICATION_TOKEN not in response.text
    await asyncio.sleep(0.5)
    assert await job_count(stack.app) == 0 and not stack.mock.calls
    signatures = [headers.get("X-Lark-Signature", "") for _, headers in cases]
    assert not leaked(caplog.records, SECRETS + signatures)


async def test_the_url_verification_challenge_is_answered(stack: Stack) -> None:
    challenge = {"challenge": "c-123", "token": VERIFICATION_TOKEN, "type": "url_verification"}
    response = await stack.client.post("/feishu/events", json={"encrypt": encrypt(json.dumps(challenge))})
    assert response.status_code == 200 and response.json() == {"challenge": "c-123"}
    wrong = {**challenge, "token": "nope"}
    response = await stack.client.post("/feishu/events", json={"encrypt": encrypt(json.dumps(wrong))})
    assert response.status_code == 401


async def test_a_retried_event_starts_one_job(stack: Stack) -> None:
    event = message_event("cs 2", event_id="ev-retry")
    first, retry = await stack.send(event), await stack.send(event)
    assert first.status_code == retry.status_code == 200
    await stack.mock.wait_for(lambda mock: mock.summary_sent())
    await asyncio.sleep(0.5)
    assert await job_count(stack.app) == 1
    assert sum("Started job" in text for text in stack.mock.texts()) == 1


async def test_a_retry_after_a_restart_starts_no_second_job(tmp_path: Path) -> None:
    mock = FeishuMock()
    settings = feishu_settings(tmp_path, await mock.start())
    event = message_event("cs 2", event_id="ev-before-restart")
    async with served_app(settings) as (client, app):
        assert (await Stack(mock, client, app).send(event)).status_code == 200
        await mock.wait_for(lambda mock: mock.summary_sent())
    async with served_app(settings) as (client, app):  # Feishu retries for hours: 15 s, 5 min, 1 h, 6 h
        retry = await Stack(mock, client, app).send(event)
        assert retry.status_code == 200 and retry.json() == {"msg": "duplicate"}
        assert await job_count(app) == 1
    await mock.stop()
    assert sum("Started job" in text for text in mock.texts()) == 1


async def test_feishu_429_and_5xx_are_retried_with_backoff(stack: Stack) -> None:
    mock = stack.mock
    mock.fail_next("reply", 502, {"code": 1, "msg": "bad gateway"})
    mock.fail_next(
        "patch", 429, {"code": 99991400, "msg": "request trigger frequency limit"}, {"x-ogw-ratelimit-reset": "1"}
    )
    await stack.send(message_event("生成 cs 2 条"))
    await mock.wait_for(lambda mock: mock.summary_sent())
    assert len(mock.calls_to("reply", status=502)) == 1
    (limited,) = mock.calls_to("patch", status=429)
    retried = next(c for c in mock.calls_to("patch") if c.at > limited.at)
    assert retried.at - limited.at >= 0.9  # waited x-ogw-ratelimit-reset: 1
    assert mock.uploads


async def test_status_and_cancel_only_from_the_chat_that_started_the_job(stack: Stack) -> None:
    await stack.send(message_event("cs 200", chat_id="oc_a"))
    await stack.mock.wait_for(lambda m: any("Started job" in t for t in m.texts()))
    job_id = JOB_ID.search(next(t for t in stack.mock.texts() if "Started job" in t)).group(1)  # type: ignore[union-attr]
    await stack.send(message_event(f"取消 {job_id}", chat_id="oc_b"))
    await stack.mock.wait_for(lambda m: any("started from this chat" in t for t in m.texts()))
    await stack.send(message_event(f"取消 {job_id}", chat_id="oc_a"))
    await stack.mock.wait_for(lambda m: any(f"Job `{job_id}` cancelled" in t for t in m.texts()))
