"""The DingTalk robot through the real stack: uvicorn, FastAPI, alibabacloud-dingtalk, signed callbacks, a mock."""

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
from tests.integration.dingtalk_mock import ACCESS_TOKEN, APP_KEY, APP_SECRET, DingTalkMock, callback, signed

INTERVAL = 0.3
JOB_ID = re.compile(r"`([0-9a-f]{32})`")
LINK = re.compile(r"/chat/datasets/[A-Za-z0-9_.-]+")


SECRETS = [APP_SECRET, ACCESS_TOKEN]


@dataclass
class Stack:
    mock: DingTalkMock
    client: httpx.AsyncClient
    app: Any
    signatures: list[str] = field(default_factory=list)

    async def send(self, payload: dict[str, Any], **options: Any) -> httpx.Response:
        body, headers = signed(payload, **options)
        self.signatures.append(headers["sign"])
        return await self.client.post("/dingtalk/events", content=body, headers=headers)


def dingtalk_settings(data_dir: Path, api_url: str) -> Settings:
    """The service's settings with the DingTalk robot mounted against the mock (and an API key chat users lack)."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=data_dir,
        DINGTALK_APP_KEY=APP_KEY,
        DINGTALK_APP_SECRET=APP_SECRET,
        dingtalk_api_url=api_url,
        dingtalk_progress_interval_s=INTERVAL,
        api_keys="an-api-key-the-chat-users-do-not-have",
    )


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    mock = DingTalkMock()
    async with served_app(dingtalk_settings(tmp_path, await mock.start())) as (client, app):
        yield Stack(mock, client, app)
    await mock.stop()


async def test_a_chinese_mention_runs_a_job_updates_one_card_and_gives_the_file_by_link(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    started = time.monotonic()
    response = await stack.send(callback("生成 cs 3 条 openai"))
    assert response.status_code == 200 and time.monotonic() - started < 3
    mock = stack.mock
    await mock.wait_for(lambda mock: mock.summary_sent())
    (card,) = mock.calls_to("card_send")
    assert card.params["cardTemplateId"] == "StandardCard" and card.params["openConversationId"] == "cid-group-1"
    updates = mock.calls_to("card_update")
    assert updates and all(u.params["cardBizId"] == card.params["cardBizId"] for u in updates)
    assert "*3/3* accepted" in json.loads(updates[-1].params["cardData"])["contents"][0]["text"]
    gaps = [b.at - a.at for a, b in zip([card, *updates], updates, strict=False)]
    assert min(gaps) >= INTERVAL * 0.9, gaps
    texts = mock.texts()
    job_id = JOB_ID.search(texts[0]).group(1)  # type: ignore[union-attr]
    link = LINK.search(next(t for t in texts if LINK.search(t))).group(0)  # type: ignore[union-attr]
    assert any("started by" in r.getMessage() for r in caplog.records)  # the server's log is captured
    link_token = link.rsplit("/", 1)[1]
    assert not leaked(caplog.records, [*SECRETS, *stack.signatures, link_token])  # (before our client logs it)
    assert (await stack.client.get(f"/v1/jobs/{job_id}/dataset")).status_code == 401  # the API needs a key ...
    download = await stack.client.get(link)  # ... the chat's link does not
    samples = await stack.app.state.manager.samples(job_id)
    assert download.status_code == 200 and download.content == "".join(iter_jsonl_lines(samples, "openai")).encode()
    assert "3/3 empathetic-cs samples accepted" in texts[-1]
    assert all(c.params["robotCode"] == APP_KEY for c in mock.calls_to("group_send"))


async def test_bad_missing_and_stale_signatures_get_401_and_no_job(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    payload = callback("cs 2")
    cases = [signed(payload, secret="wrong-secret"), signed(payload, timestamp_ms=int(time.time() * 1000) - 3_600_000)]
    body, _ = signed(payload)
    cases += [(body, {"Content-Type": "application/json"}), (body, {"timestamp": "abc", "sign": "x"})]
    for body, headers in cases:
        response = await stack.client.post("/dingtalk/events", content=body, headers=headers)
        assert response.status_code == 401 and response.json()["error"] == "unauthorized"
        assert APP_SECRET not in response.text
    await asyncio.sleep(0.5)
    assert await job_count(stack.app) == 0 and not stack.mock.calls
    assert not leaked(caplog.records, [*SECRETS, *(headers.get("sign", "") for _, headers in cases)])


async def test_a_retried_callback_starts_one_job(stack: Stack) -> None:
    payload = callback("cs 2", msg_id="msg-retry")
    assert (await stack.send(payload)).status_code == (await stack.send(payload)).status_code == 200
    await stack.mock.wait_for(lambda mock: mock.summary_sent())
    await asyncio.sleep(0.5)
    assert await job_count(stack.app) == 1 and sum("Started job" in t for t in stack.mock.texts()) == 1


async def test_dingtalk_429_and_5xx_are_retried_with_backoff(stack: Stack) -> None:
    mock = stack.mock
    mock.fail_next("card_send", 503, {"code": "ServiceUnavailable", "message": "busy"})
    mock.fail_next("card_update", 429, {"code": "Throttling", "message": "qps"})
    await stack.send(callback("cs 2", conversation="cid-2"))
    await mock.wait_for(lambda mock: mock.summary_sent())
    assert len(mock.calls_to("card_send", status=503)) == 1 and mock.calls_to("card_send")
    (limited,) = mock.calls_to("card_update", status=429)
    retried = next(c for c in mock.calls_to("card_update") if c.at > limited.at)
    assert retried.at - limited.at >= 0.2  # backed off before trying again


async def test_a_one_to_one_chat_is_answered_to_the_person(stack: Stack) -> None:
    await stack.send(callback("帮助", group=False, conversation="cid-single", staff="staff-9"))
    await stack.mock.wait_for(lambda m: bool(m.calls_to("oto_send")))
    (answer,) = stack.mock.calls_to("oto_send")
    assert (
        answer.params["userIds"] == ["staff-9"]
        and "@dialogforge 温柔 50" in json.loads(answer.params["msgParam"])["text"]
    )


async def test_requests_arriving_together_never_pass_the_per_user_bound(stack: Stack) -> None:
    sends = [stack.send(callback("cs 200", conversation=f"cid-{i % 3}")) for i in range(6)]  # 2 jobs a user at most
    assert all(r.status_code == 200 for r in await asyncio.gather(*sends))

    def answered(mock: DingTalkMock) -> bool:
        texts = mock.texts()
        return (
            sum("jobs running (the limit is 2)" in t for t in texts) == 4
            and sum("Started job" in t for t in texts) == 2
        )

    await stack.mock.wait_for(answered)
    assert await job_count(stack.app) == 2
    held = stack.app.state.manager.admission.held  # the chat's pools sit beside the job slots
    assert held("chat:user-jobs:dingtalk:ding-corp-1:staff-1") == 2
    assert held("chat:user-n:dingtalk:ding-corp-1:staff-1") == 400
