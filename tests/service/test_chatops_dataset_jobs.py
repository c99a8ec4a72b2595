"""Data set chat jobs in the chat service: pinned to a version, counted by the bounds, shown by their kind."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from graph.datasets.importer import import_sources
from graph.datasets.store import DatasetStore
from graph.progress import JobProgress, JobSummary
from service.chatops import report
from service.chatops.bounds import Bounds, ChatAdmission
from service.chatops.commands import Augment, Clean, Generate
from service.chatops.errors import ChatOpsError
from service.chatops.links import DownloadLinks
from service.chatops.service import ChatOpsService
from service.chatops.store import ChatJobStore
from service.chatops.views import view_of
from service.jobs.models import JobRecord, JobRequest
from tests.graph.datasets.helpers import sample, sharegpt, write_jsonl
from tests.service.chat_fakes import ALICE, CAROL_ELSEWHERE, FakeBackend


class DatasetBackend(FakeBackend):
    """The fake backend for requests without ``n``: a clean job ends with a summary and a version."""

    def _record(self, job_id: str, request: JobRequest) -> JobRecord:
        now = datetime.now(UTC)
        progress = JobProgress(job_id=job_id, target=4, accepted=3, rejected=1)
        summary = JobSummary(
            job_id=job_id, style="", workspace="", target=4, accepted=3, rejected=1,
            rejected_by_reason={"exact-dedup:exact_duplicate": 1}, rewrites=2, llm_calls=0, tokens={},
            total_tokens=0, calls_per_accepted=None, tokens_per_accepted=None, wall_s=1.0, stop_reason="completed",
        )  # fmt: skip
        return JobRecord(
            id=job_id, request=request, status="completed", progress=progress, summary=summary, version="logs@2",
            created_at=now, updated_at=now,
        )  # fmt: skip


def service(tmp_path: Path, **bounds: int) -> tuple[ChatOpsService, DatasetBackend]:
    rows = [sharegpt(f"question {i}", f"answer {i}") for i in range(4)]
    import_sources(DatasetStore(tmp_path), "logs", [str(write_jsonl(tmp_path / "in.jsonl", rows))])
    backend = DatasetBackend()
    chat = ChatOpsService(
        backend,
        lambda: {},
        ChatJobStore(tmp_path),
        ChatAdmission(Bounds(**bounds)),
        DownloadLinks("test-secret", 3600, "https://df.example/"),
        datasets=DatasetStore(tmp_path),
    )
    return chat, backend


async def test_a_dataset_job_is_pinned_to_its_version_and_remembers_its_kind(tmp_path: Path) -> None:
    chat, backend = service(tmp_path)
    job = await chat.start(Clean(ref="logs"), ALICE, {})
    assert backend.started[0].source == "logs@1" and job.label == "logs@1"  # type: ignore[union-attr]
    stored = await chat.chat_jobs.run(chat.chat_jobs.get, job.job_id)
    assert stored is not None and stored.kind == "clean" and view_of(stored).delivers_file is False
    status = await chat.status(job.job_id, ALICE)
    assert "4 rows in → 3 out" in status and "exact-dedup 1" in status and "New version: `logs@2`" in status
    assert "/chat/datasets/" not in status  # a version, not a file


async def test_an_unknown_version_starts_nothing_and_lists_what_exists(tmp_path: Path) -> None:
    chat, backend = service(tmp_path)
    with pytest.raises(ChatOpsError, match="logs has no version logs@7; versions: 1"):
        await chat.start(Clean(ref="logs@7"), ALICE, {})
    assert not backend.started and chat.admission.running == 0


async def test_the_bounds_count_dataset_jobs_like_generate_jobs(tmp_path: Path) -> None:
    chat, _ = service(tmp_path, max_n_per_user=10, max_jobs_per_user=2)
    with pytest.raises(ChatOpsError, match="the limit is 10: ask for at most 10"):  # 4 rows x 2 ops x 2 children
        await chat.start(Augment(ref="logs@1", ops=("paraphrase", "extend"), per_sample=2), ALICE, {})
    first = await chat.start(Augment(ref="logs@1", ops=("paraphrase",), per_sample=2), ALICE, {})
    assert first.n == 8
    with pytest.raises(ChatOpsError, match="you have 8 samples in running jobs"):
        await chat.start(Generate("gentle", 5), ALICE, {})
    await chat.start(Clean(ref="logs@1"), ALICE, {})  # a cleaning makes no samples; it takes a job place
    with pytest.raises(ChatOpsError, match="you already have 2 jobs running"):
        await chat.start(Clean(ref="logs@1"), ALICE, {})
    await chat.delivered(first.job_id)
    await chat.start(Clean(ref="logs@1"), ALICE, {})
    with pytest.raises(ChatOpsError, match="there is no job"):
        await chat.status(first.job_id, CAROL_ELSEWHERE)  # status only from the chat that started it


def test_an_older_chat_jobs_table_gets_the_kind_column(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "dialogforge.db")
    db.execute(
        "CREATE TABLE chat_jobs (job_id TEXT PRIMARY KEY, platform TEXT NOT NULL, user_key TEXT NOT NULL, "
        "channel_key TEXT NOT NULL, label TEXT NOT NULL, n INTEGER NOT NULL, format TEXT NOT NULL, "
        "anchor TEXT NOT NULL, posted INTEGER NOT NULL DEFAULT 0, following INTEGER NOT NULL DEFAULT 1, "
        "created TEXT NOT NULL)"
    )
    db.execute("INSERT INTO chat_jobs VALUES ('j1', 'slack', 'u', 'c', 'gentle', 5, 'raw', '{}', 1, 1, 'now')")
    db.commit()
    db.close()
    store = ChatJobStore(tmp_path)
    old = store.get("j1")
    assert old is not None and old.kind == "generate" and not old.file_sent


def test_a_report_refuses_a_version_above_the_row_bound(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    service(tmp_path)  # imports logs@1 (4 rows)
    monkeypatch.setattr(report, "MAX_REPORT_ROWS", 3)
    manifest = DatasetStore(tmp_path).resolve("logs@1")
    with pytest.raises(ChatOpsError, match=r"logs@1 has 4 rows; the chat reports on versions of up to 3\."):
        report.build_chat_report(DatasetStore(tmp_path), manifest, None)


async def test_a_cancel_says_what_happens_to_the_work_of_the_jobs_kind(tmp_path: Path) -> None:
    chat, backend = service(tmp_path)
    backend.status = "running"
    cleaning = await chat.start(Clean(ref="logs@1"), ALICE, {})
    growing = await chat.start(Augment(ref="logs@1"), ALICE, {})
    assert "no version is written" in await chat.cancel(cleaning.job_id, ALICE)
    assert "the accepted ones become a partial version" in await chat.cancel(growing.job_id, ALICE)


async def test_reports_beyond_the_queue_bound_are_refused_with_a_message(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from service.chatops import service as chat_service

    chat, _ = service(tmp_path)
    release = asyncio.Event()

    async def slow_report(*args: object) -> str:
        await release.wait()
        return "built"

    monkeypatch.setattr(chat_service, "chat_report", slow_report)
    waiting = [asyncio.create_task(chat.report("logs@1")) for _ in range(report.MAX_QUEUED_REPORTS)]
    await asyncio.sleep(0.2)  # they resolve the version, then queue for the one build slot
    with pytest.raises(ChatOpsError, match="reports are being built or waiting; ask again"):
        await chat.report("logs@1")
    release.set()
    assert await asyncio.gather(*waiting) == ["built"] * report.MAX_QUEUED_REPORTS
    assert await chat.report("logs@1") == "built"  # the queue is free again


async def test_a_report_of_a_version_a_job_wrote_shows_the_jobs_rejections(tmp_path: Path) -> None:
    chat, _ = service(tmp_path)
    job = await chat.start(Clean(ref="logs@1"), ALICE, {})  # the fake's summary: 1 exact duplicate dropped
    store = DatasetStore(tmp_path)
    with store.new_version("logs", operation="clean", key=f"job:{job.job_id}") as writer:
        writer.add([sample(i) for i in range(3)])
    built = await chat.report("logs@2")
    html = built.html.decode("utf-8")
    assert f"job <code>{job.job_id}</code>, 1 rejected" in html  # the job's rejections beside the rows it kept
    unknown = store.new_version("logs", operation="clean", key="job:job99")  # a job the store does not know
    with unknown as writer:
        writer.add([sample(i) for i in range(2)])
    assert "rejections by the job" not in (await chat.report("logs@3")).html.decode("utf-8")
