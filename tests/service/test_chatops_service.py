"""Chat layer without sockets: bounds per user and channel, the job follower, retry dedupe, Slack plumbing."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from starlette.routing import NoMatchFound

from agents.schemas import Lineage, Sample, Turn
from agents.styles import builtin_styles
from graph.progress import JobProgress
from service.chatops.follow import ChatOutputError, JobFollower
from service.chatops.grammar import Generate
from service.chatops.service import Bounds, ChatContext, ChatOpsError, ChatOpsService
from service.jobs.errors import JobConflictError, JobNotFoundError
from service.jobs.models import JobRecord, JobRequest, JobUpdate, Limits, SampleBatch
from service.settings import Settings
from service.slack.bot import SlackBot, mention_text
from service.slack.dedupe import TTLSet
from service.slack.mount import mount_slack

ALICE = ChatContext("slack", "T1", "alice", "C1")
BOB_SAME_CHANNEL = ChatContext("slack", "T1", "bob", "C1")
CAROL_ELSEWHERE = ChatContext("slack", "T1", "carol", "C9")


def sample(index: int) -> Sample:
    turns = [Turn(role="user", content=f"question {index}"), Turn(role="assistant", content=f"answer {index}")]
    return Sample(id=f"s{index}", status="accepted", system="sys", turns=turns, lineage=Lineage(style="x", topic="t"))


class FakeBackend:
    """A job manager double: jobs end when told; updates are scripted."""

    def __init__(self, updates: list[JobUpdate] | None = None, delay_s: float = 0.0) -> None:
        self.limits = Limits(max_job_n=400)
        self.started: list[JobRequest] = []
        self.cancelled: list[str] = []
        self.updates = updates or []
        self.delay_s = delay_s
        self.status = "completed"

    def _record(self, job_id: str, request: JobRequest) -> JobRecord:
        now = datetime.now(UTC)
        progress = JobProgress(job_id=job_id, target=request.n, accepted=request.n)
        return JobRecord(
            id=job_id, request=request, status=self.status, progress=progress, created_at=now, updated_at=now
        )

    async def start(self, request: JobRequest) -> JobRecord:
        self.started.append(request)
        return self._record(f"job{len(self.started)}", request)

    async def get(self, job_id: str) -> JobRecord:
        if not job_id.startswith("job"):
            raise JobNotFoundError(f"no job with id {job_id!r}")
        return self._record(job_id, self.started[int(job_id[3:]) - 1])

    async def cancel(self, job_id: str) -> JobRecord:
        self.cancelled.append(job_id)
        if self.status != "running":
            raise JobConflictError(f"job {job_id} already ended ({self.status}); nothing to cancel")
        return await self.get(job_id)

    async def samples(self, job_id: str) -> list[Sample]:
        return [sample(i) for i in range(2)]

    async def subscribe(self, job_id: str) -> AsyncIterator[JobUpdate]:
        for update in self.updates:
            await asyncio.sleep(self.delay_s)
            yield update

    async def sample_now(self, style: str, k: int, topic: str | None, timeout: float | None) -> SampleBatch:
        return SampleBatch(style=style, requested=k, accepted=0, samples=[], timed_out=True, elapsed_s=1.0)


def service(backend: FakeBackend | None = None, **bounds: int) -> ChatOpsService:
    return ChatOpsService(backend or FakeBackend(), builtin_styles, Bounds(**bounds), public_url="https://df.example/")


async def test_jobs_per_user_and_per_channel_are_bounded() -> None:
    chat = service(max_jobs_per_user=1, max_jobs_per_channel=2)
    first = await chat.start(Generate("gentle", 10), ALICE)
    with pytest.raises(ChatOpsError, match="you already have 1 jobs running"):
        await chat.start(Generate("gentle", 10), ALICE)
    await chat.start(Generate("gentle", 10), BOB_SAME_CHANNEL)
    with pytest.raises(ChatOpsError, match="this channel has 2 jobs running"):
        await chat.start(Generate("gentle", 10), ChatContext("slack", "T1", "dave", "C1"))
    await chat.start(Generate("gentle", 10), CAROL_ELSEWHERE)
    chat.release(first.id)
    await chat.start(Generate("gentle", 10), ALICE)
    assert chat.running_jobs() == 3


async def test_samples_in_running_jobs_are_bounded_per_user_and_channel() -> None:
    chat = service(max_n_per_user=100, max_n_per_channel=150, max_jobs_per_user=5, max_jobs_per_channel=5)
    await chat.start(Generate("gentle", 80), ALICE)
    with pytest.raises(
        ChatOpsError, match="you have 80 samples in running jobs and the limit is 100: ask for at most 20"
    ):
        await chat.start(Generate("gentle", 30), ALICE)
    await chat.start(Generate("gentle", 20), ALICE)
    with pytest.raises(ChatOpsError, match=r"this channel has 100 samples .* at most 50"):
        await chat.start(Generate("gentle", 60), BOB_SAME_CHANNEL)


def test_max_n_is_the_smallest_bound() -> None:
    assert service(max_n_per_user=50).max_n == 50
    assert service().max_n == 400  # the backend's max_job_n
    with pytest.raises(ValueError, match="at most 50"):
        service(max_n_per_user=50).parse("gentle 51")


async def test_cancel_only_from_the_owner_or_its_channel() -> None:
    backend = FakeBackend()
    backend.status = "running"
    chat = service(backend)
    record = await chat.start(Generate("gentle", 5), ALICE)
    with pytest.raises(ChatOpsError, match="someone else in another channel"):
        await chat.cancel(record.id, CAROL_ELSEWHERE)
    assert "Cancelling job `job1`" in await chat.cancel(record.id, BOB_SAME_CHANNEL)
    with pytest.raises(ChatOpsError, match="there is no job `nope`"):
        await chat.cancel("nope", ALICE)
    backend.started.append(JobRequest(style="gentle", n=1))  # job2: started over HTTP, not from chat
    with pytest.raises(ChatOpsError, match="not started from chat"):
        await chat.cancel("job2", ALICE)
    backend.status = "completed"
    with pytest.raises(ChatOpsError, match="already ended"):
        await chat.cancel(record.id, ALICE)


async def test_status_sample_and_download_url() -> None:
    chat = service()
    record = await chat.start(Generate("gentle", 5, "alpaca"), ALICE)
    assert "*Job `job1`" not in await chat.status(record.id)  # no summary in the fake: the progress line
    assert "5/5" in await chat.status(record.id)
    with pytest.raises(ChatOpsError, match="could not make a gentle sample: it timed out"):
        await chat.sample("gentle")
    assert chat.download_url("job1", "alpaca") == "https://df.example/v1/jobs/job1/dataset?format=alpaca"
    content, count = await chat.dataset("job1", "alpaca")
    assert count == 2 and content.decode().count("\n") == 2


class FakeOutput:
    def __init__(self, fail: set[str] | None = None) -> None:
        self.fail = fail or set()
        self.log: list[tuple[str, str, float]] = []

    async def _do(self, what: str, text: str) -> None:
        self.log.append((what, text, asyncio.get_running_loop().time()))
        if what in self.fail:
            raise ChatOutputError(f"Slack answered {what}_failed")

    async def post(self, text: str) -> None:
        await self._do("post", text)

    async def update(self, text: str) -> None:
        await self._do("update", text)

    async def reply(self, text: str) -> None:
        await self._do("reply", text)

    async def upload(self, filename: str, content: bytes, comment: str) -> None:
        await self._do("upload", filename)


def updates(n: int) -> list[JobUpdate]:
    progress = [JobProgress(job_id="job1", target=n, accepted=i) for i in range(n + 1)]
    items = [
        JobUpdate(job_id="job1", seq=i, kind="sample", status="running", progress=p) for i, p in enumerate(progress)
    ]
    return [*items, JobUpdate(job_id="job1", seq=n + 1, kind="end", status="completed", progress=progress[-1])]


async def test_follower_throttles_edits_uploads_and_releases() -> None:
    backend = FakeBackend(updates(10), delay_s=0.01)
    chat = service(backend)
    await chat.start(Generate("gentle", 10), ALICE)
    output = FakeOutput()
    await JobFollower(chat, "job1", "gentle", 10, "sharegpt", output, interval_s=0.05).run()
    kinds = [what for what, _, _ in output.log]
    assert kinds[0] == "post" and kinds[-2:] == ["upload", "reply"]
    edits = [at for what, _, at in output.log if what in ("post", "update")]
    assert 2 <= len(edits) <= 6  # 11 updates folded into a few edits
    assert min(b - a for a, b in itertools.pairwise(edits)) >= 0.045
    assert output.log[-2][1] == "gentle-job1-sharegpt.jsonl"
    assert chat.running_jobs() == 0


async def test_follower_reports_a_failed_upload_with_the_download_url() -> None:
    chat = service(FakeBackend(updates(2)))
    await chat.start(Generate("gentle", 2, "raw"), ALICE)
    output = FakeOutput(fail={"upload", "update"})
    await JobFollower(chat, "job1", "gentle", 2, "raw", output, interval_s=0.01).run()
    replies = [text for what, text, _ in output.log if what == "reply"]
    assert "(Slack answered upload_failed)" in replies[0]
    assert "https://df.example/v1/jobs/job1/dataset?format=raw" in replies[0]
    assert chat.running_jobs() == 0


async def test_follower_tells_the_user_when_it_cannot_post() -> None:
    chat = service(FakeBackend(updates(1)))
    await chat.start(Generate("gentle", 1), ALICE)
    told: list[str] = []

    async def tell(reason: str) -> None:
        told.append(reason)

    output = FakeOutput(fail={"post"})
    await JobFollower(chat, "job1", "gentle", 1, "sharegpt", output, interval_s=0.01, on_unreachable=tell).run()
    assert told == ["Slack answered post_failed"] and [w for w, _, _ in output.log] == ["post"]
    assert chat.running_jobs() == 0


def test_ttl_set_forgets_after_ttl_and_beyond_its_size() -> None:
    now = [0.0]
    seen = TTLSet(ttl_s=10, max_size=3, clock=lambda: now[0])
    assert seen.add("a") and not seen.add("a")
    now[0] = 11
    assert "a" not in seen and seen.add("a")
    for key in "bcd":
        seen.add(key)
    assert len(seen) == 3 and "a" not in seen
    with pytest.raises(ValueError):
        TTLSet(ttl_s=0)


def test_mention_text_drops_user_mentions() -> None:
    assert mention_text("<@U0BOT> 温柔 50") == "温柔 50"
    assert mention_text("<@U0BOT|dialogforge>  help <@U2>") == "help"


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **{"SLACK_BOT_TOKEN": None, "SLACK_SIGNING_SECRET": None, **values})  # type: ignore[call-arg,arg-type]


def test_the_bot_is_off_without_token_and_secret(caplog: pytest.LogCaptureFixture) -> None:
    app = FastAPI()
    with caplog.at_level(logging.INFO, logger="service.slack.mount"):
        assert mount_slack(app, settings(SLACK_BOT_TOKEN="xoxb-only-token")) is None
    assert [r.getMessage() for r in caplog.records] == [
        "Slack bot off: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET to turn it on"
    ]
    with pytest.raises(NoMatchFound):
        app.url_path_for("slack_events")


def test_the_bot_mounts_without_logging_secrets(caplog: pytest.LogCaptureFixture) -> None:
    app = FastAPI()
    values = settings(SLACK_BOT_TOKEN="xoxb-secret-token", SLACK_SIGNING_SECRET="signing-secret-value")
    with caplog.at_level(logging.DEBUG):
        bot = mount_slack(app, values, lambda: None)
    assert isinstance(bot, SlackBot) and app.state.slack_bot is bot
    assert app.url_path_for("slack_events") == "/slack/events"
    assert "/slack/events" not in app.openapi()["paths"]
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "xoxb-secret-token" not in logged and "signing-secret-value" not in logged
    assert "xoxb-secret-token" not in repr(values) and "signing-secret-value" not in str(values)
    assert bot.client.base_url == "https://slack.com/api/"
    with pytest.raises(ChatOpsError, match="still starting"):
        bot.chatops()
