"""The Slack bot through the real stack: uvicorn + FastAPI + slack-bolt, signed requests, a mock Slack.

The app is ``service.http.app.create_app`` with fake LLM models and a fake embedder; Slack's Web API is
``tests/integration/slack_mock.py`` on loopback (``DIALOGFORGE_SLACK_API_URL``). Jobs use the
``empathetic-cs`` pack (alias ``cs``): the fake embedder cannot meet the Chinese packs'
exemplar-similarity bound, so their samples would all be rejected.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from slack_sdk.signature import SignatureVerifier

from graph.datasets.export import iter_jsonl_lines
from service.settings import Settings
from tests.integration.chat_stack import job_count, served_app
from tests.integration.slack_mock import BOT_TOKEN, BOT_USER, TEAM, SlackMock

SECRET = "test-signing-secret-abcdef"
INTERVAL = 0.3
JOB_ID = re.compile(r"`([0-9a-f]{32})`")
LINK = re.compile(r"/chat/datasets/[A-Za-z0-9_.-]+")


@dataclass
class Stack:
    mock: SlackMock
    client: httpx.AsyncClient
    app: Any

    def signed(self, body: str, timestamp: int | None = None, secret: str = SECRET) -> dict[str, str]:
        ts = str(int(time.time()) if timestamp is None else timestamp)
        signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
        return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature}

    async def slash(self, text: str, user: str = "U1", channel: str = "C1", **headers: str) -> httpx.Response:
        body = urlencode(
            {
                "token": "legacy",
                "team_id": TEAM,
                "channel_id": channel,
                "user_id": user,
                "command": "/dataset",
                "text": text,
                "response_url": f"{self.mock.base_url}/respond/hook1",
                "trigger_id": f"trig-{time.monotonic_ns()}",
                "api_app_id": "A1",
            }
        )
        all_headers = {"Content-Type": "application/x-www-form-urlencoded", **self.signed(body), **headers}
        return await self.client.post("/slack/events", content=body, headers=all_headers)

    def mention_body(self, text: str, event_id: str = "Ev0001", ts: str = "1700000000.000100") -> str:
        event = {"type": "app_mention", "user": "U2", "text": f"<@{BOT_USER}> {text}", "ts": ts, "channel": "C2"}
        payload = {"type": "event_callback", "team_id": TEAM, "api_app_id": "A1", "event": event, "event_id": event_id}
        return json.dumps(payload, ensure_ascii=False)

    async def event(self, body: str, **headers: str) -> httpx.Response:
        all_headers = {"Content-Type": "application/json", **self.signed(body), **headers}
        return await self.client.post("/slack/events", content=body.encode(), headers=all_headers)

    async def jobs(self) -> int:
        return await job_count(self.app)


def slack_settings(data_dir: Path, api_url: str) -> Settings:
    """The service's settings with the Slack bot mounted against the mock."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=data_dir,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SECRET,
        slack_api_url=api_url,
        slack_progress_interval_s=INTERVAL,
        chatops_max_n_per_user=300,
        api_keys=None,
    )


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    mock = SlackMock()
    async with served_app(slack_settings(tmp_path, await mock.start())) as (client, app):
        yield Stack(mock, client, app)
    await mock.stop()


def texts_posted(mock: SlackMock) -> list[str]:
    return [str(call.params.get("text", "")) for call in mock.calls_to("chat.postMessage")]


def summary_posted(mock: SlackMock) -> bool:
    return any("samples accepted" in text for text in texts_posted(mock))


async def test_slash_command_runs_a_job_updates_one_message_and_uploads_the_jsonl(stack: Stack) -> None:
    started = time.monotonic()
    response = await stack.slash("empathetic-cs 3 sharegpt")
    assert response.status_code == 200 and time.monotonic() - started < 3
    body = response.json()
    assert body["response_type"] == "in_channel"
    match = JOB_ID.search(body["text"])
    assert match, body
    job_id = match.group(1)

    mock = stack.mock
    await mock.wait_for(summary_posted)
    posts = mock.calls_to("chat.postMessage")
    progress = posts[0]
    assert progress.params["channel"] == "C1" and not progress.params.get("thread_ts")
    assert job_id in progress.params["text"]
    progress_ts = progress.response["ts"]

    updates = mock.calls_to("chat.update")
    assert updates and all(u.params["ts"] == progress_ts for u in updates)
    assert "*3/3* accepted" in updates[-1].params["text"]
    gaps = [b.at - a.at for a, b in zip([progress, *updates], updates, strict=False)]
    assert min(gaps) >= INTERVAL * 0.9, gaps  # never more often than the interval

    (complete,) = mock.calls_to("files.completeUploadExternal")
    assert complete.params["channel_id"] == "C1" and complete.params["thread_ts"] == progress_ts
    assert complete.at > updates[-1].at
    samples = await stack.app.state.manager.samples(job_id)
    expected = "".join(iter_jsonl_lines(samples, "sharegpt")).encode()
    (uploaded,) = mock.uploads.values()
    assert uploaded == expected and len(uploaded.splitlines()) == 3
    assert all("conversations" in json.loads(line) for line in uploaded.splitlines())

    summary = posts[-1]
    assert summary.params["thread_ts"] == progress_ts
    assert "3/3 empathetic-cs samples accepted" in summary.params["text"] and "Tokens:" in summary.params["text"]
    assert "Diversity" in summary.params["text"]

    status = await stack.slash(f"status {job_id}")
    assert "done" in status.json()["text"]


async def test_mention_with_the_same_words_answers_in_its_thread(stack: Stack) -> None:
    mock = stack.mock
    response = await stack.event(stack.mention_body("生成 cs 2 条 alpaca"))
    assert response.status_code == 200
    await mock.wait_for(summary_posted)
    posts = mock.calls_to("chat.postMessage")
    assert all(p.params["channel"] == "C2" and p.params["thread_ts"] == "1700000000.000100" for p in posts)
    (complete,) = mock.calls_to("files.completeUploadExternal")
    assert complete.params["thread_ts"] == "1700000000.000100"
    (uploaded,) = mock.uploads.values()
    assert len(uploaded.splitlines()) == 2 and "instruction" in json.loads(uploaded.splitlines()[0])

    await stack.event(stack.mention_body("帮助", event_id="Ev0002", ts="1700000001.000100"))
    await mock.wait_for(lambda m: any("@dialogforge 温柔 50" in t for t in texts_posted(m)))


async def test_bad_signature_and_stale_timestamp_get_401(stack: Stack) -> None:
    body = stack.mention_body("gentle 2")
    forged = {"Content-Type": "application/json", **stack.signed(body, secret="wrong-secret")}
    response = await stack.client.post("/slack/events", content=body, headers=forged)
    assert response.status_code == 401
    stale = {"Content-Type": "application/json", **stack.signed(body, timestamp=int(time.time()) - 3600)}
    response = await stack.client.post("/slack/events", content=body, headers=stale)
    assert response.status_code == 401
    unsigned = await stack.client.post("/slack/events", content=body, headers={"Content-Type": "application/json"})
    assert unsigned.status_code == 401
    await asyncio.sleep(0.5)
    assert await stack.jobs() == 0
    assert not stack.mock.calls_to("chat.postMessage", status=None)
    assert SECRET not in response.text and BOT_TOKEN not in response.text


async def test_a_retried_event_starts_one_job(stack: Stack) -> None:
    body = stack.mention_body("cs 2", event_id="EvRetry")
    first = await stack.event(body)
    retry = await stack.event(body, **{"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    assert first.status_code == retry.status_code == 200
    await stack.mock.wait_for(summary_posted)
    await asyncio.sleep(0.5)
    assert await stack.jobs() == 1
    assert sum("Started job" in text for text in texts_posted(stack.mock)) == 1


async def test_slack_429_is_retried_after_retry_after(stack: Stack) -> None:
    mock = stack.mock
    mock.rate_limit_once = {"chat.postMessage", "chat.update"}
    await stack.slash("empathetic 2")
    await mock.wait_for(summary_posted)
    limited = mock.calls_to("chat.postMessage", status=429)
    assert len(limited) == 1
    retried = mock.calls_to("chat.postMessage")[0]
    assert retried.at - limited[0].at >= 0.9  # waited Retry-After: 1
    assert len(mock.calls_to("chat.update", status=429)) == 1 and mock.calls_to("chat.update")
    assert mock.uploads


async def test_a_failed_upload_gives_a_short_lived_download_link(stack: Stack) -> None:
    mock = stack.mock
    mock.fail_uploads = True
    response = await stack.slash("cs 2 openai")
    job_id = JOB_ID.search(response.json()["text"]).group(1)  # type: ignore[union-attr]
    await mock.wait_for(lambda m: any(LINK.search(t) for t in texts_posted(m)))
    assert mock.calls_to("upload", status=500)
    report = next(c for c in mock.calls_to("chat.postMessage") if LINK.search(c.params["text"]))
    assert report.params["thread_ts"] == mock.calls_to("chat.postMessage")[0].response["ts"]
    assert "could not upload" in report.params["text"] and BOT_TOKEN not in report.params["text"]
    await mock.wait_for(summary_posted)
    link = LINK.search(report.params["text"]).group(0)  # type: ignore[union-attr]
    download = await stack.client.get(link)
    assert download.status_code == 200
    samples = await stack.app.state.manager.samples(job_id)
    assert download.content == "".join(iter_jsonl_lines(samples, "openai")).encode()
    forged = await stack.client.get(link[:-3] + "abc")
    assert forged.status_code == 401 and forged.json()["error"] == "invalid_link"


async def test_errors_in_plain_words(stack: Stack) -> None:
    unknown = (await stack.slash("cheerful 10")).json()["text"]
    assert "'cheerful'" in unknown and "gentle (温柔)" in unknown and "snarky (毒舌)" in unknown
    too_many = (await stack.slash("温柔 100000")).json()["text"]
    assert "at most 300" in too_many
    bad_format = (await stack.slash("gentle 5 json")).json()["text"]
    assert "alpaca, sharegpt, openai, raw" in bad_format
    missing = (await stack.slash("status 0123456789abcdef")).json()["text"]
    assert "no job" in missing
    assert await stack.jobs() == 0
    await stack.event(stack.mention_body("cheerful 3", event_id="EvErr"))
    await stack.mock.wait_for(lambda m: any("cheerful" in t for t in texts_posted(m)))
    (error,) = stack.mock.calls_to("chat.postMessage")
    assert error.params["thread_ts"] == "1700000000.000100" and "gentle (温柔)" in error.params["text"]


async def test_help_styles_sample_and_cancel(stack: Stack) -> None:
    assert "/dataset 温柔 50" in (await stack.slash("help")).json()["text"]
    assert "`snarky` (毒舌)" in (await stack.slash("风格")).json()["text"]
    ack = (await stack.slash("样例 cs")).json()["text"]
    assert "Making one empathetic-cs sample" in ack
    await stack.mock.wait_for(lambda m: any("Scores:" in t for t in texts_posted(m)))
    sample = next(t for t in texts_posted(stack.mock) if "Scores:" in t)
    assert "*User*" in sample and "*Assistant*" in sample and "/5" in sample

    started = (await stack.slash("cs 250")).json()["text"]
    job_id = JOB_ID.search(started).group(1)  # type: ignore[union-attr]
    other_channel = (await stack.slash(f"cancel {job_id}", user="U9", channel="C9")).json()["text"]
    assert f"there is no job `{job_id}` started from this chat" in other_channel
    elsewhere = (await stack.slash(f"status {job_id}", channel="C9")).json()["text"]  # same user, other chat
    assert f"there is no job `{job_id}` started from this chat" in elsewhere
    cancelled = (await stack.slash(f"取消 {job_id}")).json()["text"]
    assert f"Cancelling job `{job_id}`" in cancelled
    await stack.mock.wait_for(lambda m: any(f"Job `{job_id}` cancelled" in t for t in texts_posted(m)))
