"""Doubles for the chat layer's unit tests: a job backend and a recording chat output (no sockets)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

from agents.schemas import Lineage, Sample, Turn
from agents.styles import builtin_styles
from graph.progress import JobProgress
from service.chatops.bounds import Bounds, ChatAdmission
from service.chatops.errors import ChatOutputError, UploadUnsupported
from service.chatops.links import DownloadLinks
from service.chatops.service import ChatContext, ChatOpsService
from service.chatops.store import Anchor, ChatJobStore
from service.jobs.errors import JobConflictError, JobNotFoundError
from service.jobs.models import JobRecord, JobRequest, JobUpdate, Limits, SampleBatch

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
        self.keys: list[str | None] = []
        self.cancelled: list[str] = []
        self.updates = updates or []
        self.delay_s = delay_s
        self.status = "completed"
        self.accepted = 2

    def _record(self, job_id: str, request: JobRequest) -> JobRecord:
        now = datetime.now(UTC)
        progress = JobProgress(job_id=job_id, target=request.n, accepted=min(request.n, self.accepted))
        return JobRecord(
            id=job_id, request=request, status=self.status, progress=progress, created_at=now, updated_at=now
        )

    async def start(self, request: JobRequest, *, key: str | None = None) -> JobRecord:
        self.keys.append(key)
        self.started.append(request)
        return self._record(f"job{len(self.started)}", request)

    async def get(self, job_id: str) -> JobRecord:
        if not job_id.startswith("job") or int(job_id[3:]) > len(self.started):
            raise JobNotFoundError(f"no job with id {job_id!r}")
        return self._record(job_id, self.started[int(job_id[3:]) - 1])

    async def cancel(self, job_id: str) -> JobRecord:
        self.cancelled.append(job_id)
        if self.status != "running":
            raise JobConflictError(f"job {job_id} already ended ({self.status}); nothing to cancel")
        return await self.get(job_id)

    async def samples(self, job_id: str) -> list[Sample]:
        return [sample(i) for i in range(self.accepted)]

    async def subscribe(self, job_id: str) -> AsyncIterator[JobUpdate]:
        for update in self.updates:
            await asyncio.sleep(self.delay_s)
            yield update

    async def sample_now(self, style: str, k: int, topic: str | None, timeout: float | None) -> SampleBatch:
        return SampleBatch(style=style, requested=k, accepted=0, samples=[], timed_out=True, elapsed_s=1.0)


def chat_service(tmp_path: Path, backend: FakeBackend | None = None, **bounds: int) -> ChatOpsService:
    return ChatOpsService(
        backend or FakeBackend(),
        builtin_styles,
        ChatJobStore(tmp_path),
        ChatAdmission(Bounds(**bounds)),
        DownloadLinks("test-secret", 3600, "https://df.example/"),
    )


def updates(n: int, job_id: str = "job1") -> list[JobUpdate]:
    progress = [JobProgress(job_id=job_id, target=n, accepted=i) for i in range(n + 1)]
    items = [
        JobUpdate(job_id=job_id, seq=i, kind="sample", status="running", progress=p) for i, p in enumerate(progress)
    ]
    return [*items, JobUpdate(job_id=job_id, seq=n + 1, kind="end", status="completed", progress=progress[-1])]


class FakeOutput:
    """Records every call with the loop time; fails the calls named in ``fail``."""

    def __init__(self, fail: set[str] | None = None, unsupported_upload: bool = False) -> None:
        self.fail = fail or set()
        self.unsupported_upload = unsupported_upload
        self.log: list[tuple[str, str, float]] = []
        self.posted = False

    def kinds(self) -> list[str]:
        return [what for what, _, _ in self.log]

    def texts(self, what: str) -> list[str]:
        return [text for kind, text, _ in self.log if kind == what]

    async def _do(self, what: str, text: str) -> None:
        self.log.append((what, text, asyncio.get_running_loop().time()))
        if what in self.fail:
            raise ChatOutputError(f"the platform answered {what}_failed")

    async def answer(self, text: str, *, private: bool = False) -> None:
        await self._do("answer-private" if private else "answer", text)

    async def post(self, text: str) -> None:
        await self._do("post", text)
        self.posted = True

    async def update(self, text: str) -> None:
        await self._do("update", text)

    async def reply(self, text: str) -> None:
        await self._do("reply", text)

    async def upload(self, filename: str, content: bytes, comment: str) -> None:
        if self.unsupported_upload:
            raise UploadUnsupported("no files here")
        await self._do("upload", filename)

    def anchor(self) -> Anchor:
        return {"channel": "C1", "message": "m1" if self.posted else ""}
