"""JobManager: the platform-neutral job service that the HTTP routes and the Slack bot both call.

Public API (all coroutines run on the event loop the manager was started in)::

    manager = JobManager(engine, store, styles, limits, observer=None)
    await manager.resume()                        # at startup: continue jobs left queued/running/interrupted
    record = await manager.start(JobRequest(style="gentle", n=50))   # -> JobRecord (status "queued")
    record = await manager.get(job_id)            # live progress while running
    page = await manager.list(offset=0, limit=20) # -> JobPage, newest first
    record = await manager.cancel(job_id)         # stop starting samples; in-flight ones finish
    samples = await manager.samples(job_id, status="accepted")   # -> list[Sample] ("rejected", None = all)
    async for page in manager.iter_samples(job_id, "accepted"): ...   # pages of samples, for streaming
    async for update in manager.subscribe(job_id): ...   # JobUpdate: snapshot, sample..., end (then stops)
    batch = await manager.sample_now("gentle", k=3, topic=None, timeout=60)   # -> SampleBatch
    pack, verdicts, usage = await manager.judge("gentle", "anchored", [(turns, None)])   # user's own data
    await manager.shutdown()                      # stop taking work, let in-flight samples finish, persist

Errors (``service.jobs.errors``, each message says what to fix): ``JobNotFoundError``,
``JobConflictError`` (e.g. cancel an ended job), ``LimitExceededError`` (too many running jobs,
event readers or on-demand requests), ``InvalidRequestError`` (n too large, unknown judge prompt,
k out of range), ``StyleNotFoundError``, ``ShuttingDownError``.

Durability: the job and every finished sample are written to SQLite as they finish. A job found
``queued``/``running``/``interrupted`` at startup (the process was killed, or shut down) is resumed
with its stored accepted samples passed to the runner as ``previous``, so it ends with exactly n
accepted samples and no duplicated id.
"""

from __future__ import annotations

import asyncio
import builtins
import contextvars
import logging
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Sequence

from agents.judge_plan import plan_for
from agents.prompting import DEFAULT_JUDGE_PROMPT, judge_prompt_names
from agents.schemas import Sample, TokenUsage, Turn, Verdict
from agents.styles import StylePack
from graph.runner import JobRunner
from graph.state import LoopConfig
from service.engine import Engine
from service.jobs.errors import (
    InvalidRequestError,
    JobConflictError,
    JobNotFoundError,
    LimitExceededError,
    ShuttingDownError,
)
from service.jobs.events import EventHub
from service.jobs.execution import JobExecution, JobObserver, NullObserver
from service.jobs.judging import judge_many
from service.jobs.models import (
    ACTIVE_STATUSES,
    RESUMABLE_STATUSES,
    JobPage,
    JobRecord,
    JobRequest,
    JobUpdate,
    Limits,
    SampleBatch,
)
from service.jobs.ondemand import run_on_demand
from service.jobs.store import JobStore
from service.jobs.styles import StyleRegistry

logger = logging.getLogger(__name__)

MAX_PAGE = 100
MAX_JUDGE_ITEMS = 20


class JobManager:
    """Start, watch, cancel and resume dataset jobs; make on-demand samples."""

    def __init__(
        self,
        engine: Engine,
        store: JobStore,
        styles: StyleRegistry,
        limits: Limits | None = None,
        observer: JobObserver | None = None,
    ) -> None:
        """Keep the shared engine and store; nothing runs until :meth:`start` or :meth:`resume`."""
        self.engine, self.store, self.styles = engine, store, styles
        self.limits = limits or Limits()
        self.observer: JobObserver = observer or NullObserver()
        self.hub = EventHub(self.limits.event_queue_size, self.limits.max_event_subscribers)
        self._running: dict[str, tuple[JobExecution, asyncio.Task[object]]] = {}
        self._on_demand: set[asyncio.Task[SampleBatch]] = set()
        self._closing = False

    # ----------------------------------------------------------------- jobs

    def check_judge(self, name: str) -> None:
        """Reject judge prompts that are not shipped (names only: never a path on the server)."""
        known = judge_prompt_names()
        if name not in known:
            raise InvalidRequestError(f"unknown judge prompt {name!r}; known: {', '.join(known)}")

    async def start(self, request: JobRequest) -> JobRecord:
        """Validate and store a job, then run it in the background; return it (status ``queued``)."""
        if self._closing:
            raise ShuttingDownError("the service is shutting down; start the job again after the restart")
        if request.n > self.limits.max_job_n:
            raise InvalidRequestError(f"n must be at most {self.limits.max_job_n} on this server, got {request.n}")
        self.check_judge(request.judge)
        pack = self.styles.resolve(request.style)
        active = self.running
        if active >= self.limits.max_concurrent_jobs:
            raise LimitExceededError(
                f"{active} jobs are running (max {self.limits.max_concurrent_jobs}); wait for one to end or cancel one"
            )
        record = await self.store.run(self.store.create_job, uuid.uuid4().hex, request, pack)
        self._launch(record, pack)
        logger.info("job %s started: style=%s n=%d", record.id, pack.name, request.n)
        return record

    def _launch(self, record: JobRecord, pack: StylePack) -> None:
        execution = JobExecution(record, pack, self.engine, self.store, self.hub, self.observer)
        # a fresh context: the job outlives the request that started it (and its request id)
        task: asyncio.Task[object] = asyncio.create_task(
            execution.run(), name=f"job-{record.id}", context=contextvars.Context()
        )
        self._running[record.id] = (execution, task)
        task.add_done_callback(lambda _: self._running.pop(record.id, None))

    async def get(self, job_id: str) -> JobRecord:
        """Return a job; while it runs, from memory with its live progress."""
        active = self._running.get(job_id)
        if active is not None:
            return active[0].snapshot()
        record = await self.store.run(self.store.get_job, job_id)
        if record is None:
            raise JobNotFoundError(f"no job with id {job_id!r}")
        return record

    async def list(self, offset: int = 0, limit: int = 20) -> JobPage:
        """Return one page of jobs, newest first (``limit`` at most 100)."""
        offset, limit = max(0, offset), min(max(1, limit), MAX_PAGE)
        items, total = await self.store.run(self.store.list_jobs, offset, limit)
        return JobPage(items=items, total=total, offset=offset, limit=limit)

    async def cancel(self, job_id: str) -> JobRecord:
        """Stop a job from starting samples; the ones in flight finish and are kept."""
        record = await self.get(job_id)
        active = self._running.get(job_id)
        if active is not None and active[0].status in ACTIVE_STATUSES:  # an ended job's task may still be writing
            await self.store.run(self.store.update_job, job_id, cancel_requested=True)
            await active[0].cancel()
        elif record.status == "interrupted":
            await self.store.run(self.store.update_job, job_id, status="cancelled", cancel_requested=True)
        else:
            raise JobConflictError(f"job {job_id} already ended ({record.status}); nothing to cancel")
        return await self.get(job_id)

    async def samples(self, job_id: str, status: str | None = "accepted") -> builtins.list[Sample]:
        """Return a job's finished samples (``status`` ``accepted``, ``rejected`` or None for all)."""
        await self.get(job_id)
        return await self.store.run(self.store.samples, job_id, status)

    async def iter_samples(self, job_id: str, status: str | None = "accepted") -> AsyncIterator[builtins.list[Sample]]:
        """Yield a job's samples page by page (each page read in a worker thread)."""
        after = 0
        for _ in range(self.limits.max_job_n * 4 + 1):  # bounded: at most one page per sample
            page = await self.store.run(self.store.sample_page, job_id, status, after, 200)
            if not page:
                return
            after = page[-1][0]
            yield [sample for _, sample in page]

    async def subscribe(self, job_id: str) -> AsyncGenerator[JobUpdate, None]:
        """Yield the job's current state, then its updates, ending with ``end`` once the job ends.

        A slow reader skips intermediate updates (``dropped`` counts them) and never slows the job.
        """
        subscription = self.hub.open(job_id)
        try:
            record = await self.get(job_id)
            follow = record.active and job_id in self._running
            kind = "snapshot" if follow else "end"
            progress = record.progress
            yield JobUpdate(
                job_id=job_id,
                seq=0,
                kind=kind,
                status=record.status,
                progress=progress,
                rate_per_min=progress.rate_per_min,
            )
            if not follow:
                return
            while True:
                update = await subscription.next()
                yield update
                if update.kind == "end":
                    return
        finally:
            self.hub.close(subscription)

    # ------------------------------------------------------------ on demand

    async def sample_now(
        self,
        style: str,
        k: int,
        topic: str | None = None,
        timeout: float | None = None,
        *,
        workspace: str = "on-demand",
        judge: str = DEFAULT_JUDGE_PROMPT,
        max_rewrites: int = 2,
    ) -> SampleBatch:
        """Make up to k accepted samples now; on timeout return what finished and say so."""
        if self._closing:
            raise ShuttingDownError("the service is shutting down; try again after the restart")
        if not 1 <= k <= self.limits.max_samples_k:
            raise InvalidRequestError(f"k must be between 1 and {self.limits.max_samples_k}, got {k}")
        self.check_judge(judge)
        pack = self.styles.resolve(style)
        if len(self._on_demand) >= self.limits.max_concurrent_sample_requests:
            raise LimitExceededError(
                f"{len(self._on_demand)} sample requests are running "
                f"(max {self.limits.max_concurrent_sample_requests}); try again shortly"
            )
        deps = await asyncio.to_thread(
            self.engine.loop_deps, pack, workspace, judge=judge, config=LoopConfig(max_rewrites=max_rewrites)
        )
        seconds = min(timeout or self.limits.sample_timeout_s, self.limits.sample_timeout_s)
        task = asyncio.create_task(run_on_demand(deps, k, topic, seconds, self.observer.on_sample))
        self._on_demand.add(task)
        task.add_done_callback(self._on_demand.discard)
        return await task

    async def judge(
        self, style: str, prompt: str, dialogues: Sequence[tuple[builtins.list[Turn], str | None]]
    ) -> tuple[StylePack, builtins.list[Verdict], TokenUsage]:
        """Score a user's own dialogues ((turns, persona or None) pairs) with a style's rubric."""
        if not 1 <= len(dialogues) <= MAX_JUDGE_ITEMS:
            raise InvalidRequestError(f"send between 1 and {MAX_JUDGE_ITEMS} dialogues, got {len(dialogues)}")
        self.check_judge(prompt)
        pack = self.styles.resolve(style)
        verdicts, usage = await judge_many(self.engine.models.judge, plan_for(pack.rubric, prompt), pack, dialogues)
        self.observer.on_usage({"judge": usage})
        return pack, verdicts, usage

    # ------------------------------------------------------- start and stop

    async def resume(self) -> builtins.list[str]:
        """Continue every job a previous process left queued, running or interrupted; return their ids."""
        resumed = []
        for record in await self.store.run(self.store.jobs_with_status, RESUMABLE_STATUSES):
            if record.cancel_requested:
                await self.store.run(self.store.update_job, record.id, status="cancelled")
                continue
            pack = await self.store.run(self.store.job_pack, record.id)
            if pack is None:
                continue
            self._launch(record, pack)
            resumed.append(record.id)
            logger.info("job %s resumed (%d accepted so far)", record.id, record.progress.accepted)
        return resumed

    async def shutdown(self, grace_s: float | None = None) -> None:
        """Stop taking work; let in-flight samples finish (bounded wait); mark unfinished jobs interrupted."""
        self._closing = True
        grace = self.limits.shutdown_grace_s if grace_s is None else grace_s
        running = list(self._running.values())
        for execution, _ in running:
            await execution.cancel(interrupt=True)
        tasks = [task for _, task in running] + list(self._on_demand)
        if not tasks:
            return
        started = time.monotonic()
        _, pending = await asyncio.wait(tasks, timeout=grace)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        logger.info(
            "shutdown: %d jobs stopped in %.1f s (%d cut short)", len(running), time.monotonic() - started, len(pending)
        )

    @property
    def running(self) -> int:
        """How many jobs are queued or running in this process (what the job limit counts).

        A job that has shown its end no longer counts, even while its task finishes writing it.
        """
        return sum(1 for execution, _ in self._running.values() if execution.status in ACTIVE_STATUSES)

    def runner_of(self, job_id: str) -> JobRunner | None:
        """Return the live runner of a job (tests and diagnostics)."""
        active = self._running.get(job_id)
        return active[0].runner if active else None
