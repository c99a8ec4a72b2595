"""The chat core without sockets: dispatch of every command, the job follower, resume after a restart."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass
from pathlib import Path

import pytest

from graph.datasets.export import ExportFormat
from service.chatops import grammar
from service.chatops.commands import JobCommand
from service.chatops.dedupe import TTLSet
from service.chatops.dispatch import ChatDispatcher, ChatRequest
from service.chatops.follow import JobFollower
from service.chatops.store import Anchor, ChatJob, ChatJobStore
from service.jobs.kinds.generate import GenerateJobRequest
from service.jobs.models import JobRequest
from tests.service.chat_fakes import ALICE, FakeBackend, FakeOutput, chat_service, updates


def job(n: int, fmt: str = "sharegpt", **changes: object) -> ChatJob:
    base = ChatJob("job1", "slack", ALICE.user_key, ALICE.channel_key, "gentle", n, fmt)  # type: ignore[arg-type]
    return ChatJob(**{**base.__dict__, **changes})  # type: ignore[arg-type]


async def test_follower_throttles_edits_uploads_and_marks_the_job_delivered(tmp_path: Path) -> None:
    chat = chat_service(tmp_path, FakeBackend(updates(10), delay_s=0.01))
    started = await chat.start(chat.parse("gentle 10"), ALICE, {})  # type: ignore[arg-type]
    output = FakeOutput()
    await JobFollower(chat, started, output, interval_s=0.05).run()
    kinds = output.kinds()
    assert kinds[0] == "post" and kinds[-2:] == ["upload", "reply"]
    edits = [at for what, _, at in output.log if what in ("post", "update")]
    assert 2 <= len(edits) <= 6  # 11 updates folded into a few edits
    assert min(b - a for a, b in itertools.pairwise(edits)) >= 0.045
    assert output.texts("upload") == ["gentle-job1-sharegpt.jsonl"]
    assert chat.admission.running == 0
    stored = chat.chat_jobs.get("job1")
    assert stored is not None and stored.posted and stored.anchor == {"channel": "C1", "message": "m1"}
    assert not stored.following


async def test_a_failed_upload_gives_a_short_lived_link_and_a_platform_without_files_gets_one(tmp_path: Path) -> None:
    chat = chat_service(tmp_path, FakeBackend(updates(2)))
    started = await chat.start(chat.parse("gentle 2 raw"), ALICE, {})  # type: ignore[arg-type]
    failing = FakeOutput(fail={"upload", "update"})
    await JobFollower(chat, started, failing, interval_s=0.01).run()
    (report, _summary) = failing.texts("reply")
    assert "could not upload" in report and "(the platform answered upload_failed)" in report
    assert "https://df.example/chat/datasets/" in report
    no_files = FakeOutput(unsupported_upload=True)
    await JobFollower(chat, started, no_files, interval_s=0.01).run()
    (link, _summary) = no_files.texts("reply")
    assert link.startswith("2 gentle samples (raw), job `job1`. Download the data set") and "could not" not in link


async def test_when_the_progress_cannot_be_posted_the_asker_is_told_privately(tmp_path: Path) -> None:
    chat = chat_service(tmp_path, FakeBackend(updates(1)))
    started = await chat.start(chat.parse("gentle 1"), ALICE, {})  # type: ignore[arg-type]
    output = FakeOutput(fail={"post"})
    await JobFollower(chat, started, output, interval_s=0.01).run()
    assert output.kinds() == ["post", "answer-private"]
    assert "I cannot post in this chat (the platform answered post_failed)" in output.texts("answer-private")[0]
    assert chat.admission.running == 0 and not chat.chat_jobs.following(10)


async def test_a_follower_cancelled_at_shutdown_stays_recorded_for_the_next_start(tmp_path: Path) -> None:
    chat = chat_service(tmp_path, FakeBackend(updates(50), delay_s=0.05))
    started = await chat.start(chat.parse("gentle 50"), ALICE, {})  # type: ignore[arg-type]
    task = asyncio.create_task(JobFollower(chat, started, FakeOutput(), interval_s=0.01).run())
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert chat.admission.running == 0
    (kept,) = chat.chat_jobs.following(10)
    assert kept.posted


class Platform:
    name = "slack"
    progress_interval_s = 0.01

    def __init__(self) -> None:
        self.restored: list[tuple[Anchor, FakeOutput]] = []
        self.closed = False

    def restore(self, anchor: Anchor) -> FakeOutput:
        output = FakeOutput()
        output.posted = bool(anchor.get("message"))
        self.restored.append((anchor, output))
        return output

    async def close(self) -> None:
        self.closed = True


def request(text: str) -> ChatRequest:
    return ChatRequest(ALICE, text, "@dialogforge")


async def test_dispatch_answers_quick_commands_privately_and_errors_in_plain_words(tmp_path: Path) -> None:
    dispatcher = ChatDispatcher()
    output = FakeOutput()
    await dispatcher.handle(request("help"), output)
    assert output.kinds() == ["answer-private"] and "still starting" in output.texts("answer-private")[0]
    await dispatcher.attach(chat_service(tmp_path))
    for text, needle in (
        ("帮助", "@dialogforge 温柔 50"),
        ("风格", "`snarky` (毒舌)"),
        ("cheerful 10", "I don't know the style 'cheerful'"),
        ("状态 job9", "there is no job `job9` started from this chat"),
        ("cancel job9", "there is no job `job9` started from this chat"),
    ):
        output = FakeOutput()
        await dispatcher.handle(request(text), output)
        (answer,) = output.texts("answer-private")
        assert needle in answer, (text, answer)


async def test_dispatch_starts_a_job_answers_with_its_id_and_follows_it(tmp_path: Path) -> None:
    dispatcher = ChatDispatcher()
    platform = Platform()
    dispatcher.add_platform(platform)
    chat = chat_service(tmp_path, FakeBackend(updates(2)))
    await dispatcher.attach(chat)
    output = FakeOutput()
    await dispatcher.handle(request("生成温柔2条 alpaca"), output)
    await asyncio.gather(*dispatcher.tasks)
    assert output.kinds()[:2] == ["answer", "post"] and output.kinds()[-2:] == ["upload", "reply"]
    assert "Started job `job1`: 2 × gentle (alpaca)" in output.texts("answer")[0]
    assert output.texts("upload") == ["gentle-job1-alpaca.jsonl"]
    sample = FakeOutput()
    await dispatcher.handle(request("样例 毒舌"), sample)
    await asyncio.gather(*dispatcher.tasks)
    assert sample.kinds() == ["answer-private", "reply"]
    assert "could not make a snarky sample" in sample.texts("reply")[0]
    await dispatcher.close()
    assert platform.closed


async def test_resume_follows_again_in_the_same_message_and_delivers(tmp_path: Path) -> None:
    chat = chat_service(tmp_path, FakeBackend(updates(3)))
    chat.chat_jobs.add(job(3, anchor={"channel": "C1", "message": "m7"}, posted=True))
    chat.chat_jobs.add(job(3, job_id="job2", platform="feishu"))  # a platform not mounted now: left alone
    dispatcher = ChatDispatcher()
    platform = Platform()
    dispatcher.add_platform(platform)
    chat.backend.started.append(chat.parse("gentle 3").job_request())  # type: ignore[attr-defined]
    assert await dispatcher.attach(chat) == 1
    await asyncio.gather(*dispatcher.tasks)
    ((anchor, output),) = platform.restored
    assert anchor == {"channel": "C1", "message": "m7"}
    assert "post" not in output.kinds() and "update" in output.kinds() and output.kinds()[-2:] == ["upload", "reply"]
    assert [j.job_id for j in chat.chat_jobs.following(10)] == ["job2"]


async def test_delivery_ids_are_remembered_per_platform() -> None:
    dispatcher = ChatDispatcher()
    assert await dispatcher.first_delivery("feishu", "ev1") and not await dispatcher.first_delivery("feishu", "ev1")
    assert await dispatcher.first_delivery("dingtalk", "ev1")


async def test_an_answered_delivery_runs_once_across_a_restart_and_an_unanswered_one_again(tmp_path: Path) -> None:
    chat = chat_service(tmp_path, FakeBackend(updates(1)))
    before = ChatDispatcher()
    before.add_platform(Platform())
    await before.attach(chat)
    assert await before.first_delivery("slack", "ev-job") and await before.first_delivery("slack", "ev-help")
    assert await before.first_delivery("slack", "ev-lost")  # claimed, then the process dies before answering
    await before.handle(ChatRequest(ALICE, "gentle 1", "@dialogforge", "ev-job"), FakeOutput())
    await before.handle(ChatRequest(ALICE, "help", "@dialogforge", "ev-help"), FakeOutput())
    await asyncio.gather(*before.tasks)
    after = ChatDispatcher()  # a new process on the same data directory
    await after.attach(chat)
    assert not await after.first_delivery("slack", "ev-job") and not await after.first_delivery("slack", "ev-help")
    assert await after.first_delivery("slack", "ev-lost") and not await after.first_delivery("slack", "ev-lost")
    assert len(chat.backend.started) == 1  # type: ignore[attr-defined]


def test_delivery_claims_expire_and_a_claim_is_taken_over_only_from_another_process(tmp_path: Path) -> None:
    store = ChatJobStore(tmp_path)
    assert store.claim_delivery("slack:e1", "p1", 60) and not store.claim_delivery("slack:e1", "p1", 60)
    assert store.claim_delivery("slack:e1", "p2", 60)  # p1 died before answering it
    store.delivery_handled("slack:e1")
    assert not store.claim_delivery("slack:e1", "p3", 60)
    assert store.claim_delivery("slack:e1", "p3", -1)  # older than the TTL: forgotten


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


@dataclass(frozen=True)
class Clean(JobCommand):
    """A stand-in for the coming ``清洗 <data set>`` command: a new job kind, no adapter change."""

    dataset: str
    n: int = 5
    format: ExportFormat = "sharegpt"

    @property
    def label(self) -> str:
        return self.dataset

    def job_request(self) -> JobRequest:
        return GenerateJobRequest(style="gentle", n=self.n)  # a stand-in: chat has no clean command yet


async def test_a_new_job_command_kind_plugs_into_the_grammar_and_is_started_and_followed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(grammar.VERBS, "清洗", "clean")
    monkeypatch.setitem(grammar.PARSERS, "clean", lambda args, vocabulary: Clean(args[0]))
    dispatcher = ChatDispatcher()
    dispatcher.add_platform(Platform())
    chat = chat_service(tmp_path, FakeBackend(updates(5)))
    await dispatcher.attach(chat)
    output = FakeOutput()
    await dispatcher.handle(request("清洗 bank-logs@1"), output)
    await asyncio.gather(*dispatcher.tasks)
    assert "Started job `job1`: 5 × bank-logs@1 (sharegpt)" in output.texts("answer")[0]
    assert output.texts("upload") == ["bank-logs_1-job1-sharegpt.jsonl"]  # the label made safe for a file name


async def test_a_follower_resumed_after_the_file_went_out_sends_only_the_summary(tmp_path: Path) -> None:
    chat = chat_service(tmp_path, FakeBackend(updates(2)))
    started = await chat.start(chat.parse("gentle 2"), ALICE, {})  # type: ignore[arg-type]
    first = FakeOutput(fail={"reply"})  # the summary fails, as if the process died after the upload
    await JobFollower(chat, started, first, interval_s=0.01).run()
    assert first.kinds().count("upload") == 1
    stored = chat.chat_jobs.get("job1")
    assert stored is not None and stored.file_sent
    again = FakeOutput()
    await JobFollower(chat, stored, again, interval_s=0.01, resumed=True).run()
    assert "upload" not in again.kinds() and again.kinds()[-1] == "reply"
    assert again.texts("reply") == ["Job `job1` ended: completed."]  # the end of the job, no file again
