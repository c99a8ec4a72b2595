"""JobManager: the platform-neutral job service that the HTTP routes and the Slack bot both call.

Public API (all coroutines run on the event loop the manager was started in)::

    manager = JobManager(engine, store, styles, limits, observer=None)
    await manager.resume()                        # at startup: continue jobs left queued/running/interrupted
    record = await manager.start(GenerateJobRequest(style="gentle", n=50))   # -> JobRecord (status "queued")
    record = await manager.start(request, pack=pack, origin="cli")   # the CLI: its own pack, paths allowed
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

Every kind of job (``service.jobs.kinds``) runs the same way: admitted atomically against the
concurrent-jobs limit, stored, then run by a :class:`JobExecution` that writes every finished
sample as it finishes. A job found ``queued``/``running``/``interrupted`` at startup (the process
was killed, or shut down) is resumed: its run is built from every sample stored so far, so it
ends with exactly n accepted samples and no duplicated id. The service resumes the jobs it
started; a command-line job waits for ``dialogforge generate --resume`` (``resume(job_id)``).
"""

from __future__ import annotations

import asyncio
import builtins
import contextvars
import logging
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Sequence

from agents.prompting import DEFAULT_JUDGE_PROMPT, judge_prompt
from agents.schemas import Sample, TokenUsage, Turn, Verdict
from agents.styles import StylePack
from graph.state import LoopConfig
from service.engine import Engine
from service.jobs.admission import Admission, Claim, Ticket
from service.jobs.errors import (
    InvalidRequestError,
    JobConflictError,
    JobNotFoundError,
    ShuttingDownError,
)
from service.jobs.events import EventHub
from service.jobs.execution import JobExecution, JobObserver, NullObserver
from service.jobs.judging import judge_many
from service.jobs.kinds import JobRun, kind_of
from service.jobs.kinds.generate import check_judge
from service.jobs.models import (
    RESUMABLE_STATUSES,
    JobOrigin,
    JobPage,
    JobRecord,
    JobRequest,
    JobStatus,
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
JOBS_POOL = "jobs"
JOBS_REFUSAL = "{held} jobs are running (max {limit}); wait for one to end or cancel one"
SAMPLES_POOL = "sample-requests"
SAMPLES_REFUSAL = "{held} sample requests are running (max {limit}); try again shortly"


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
        self.admission = Admission()
        self._running: dict[str, tuple[JobExecution, asyncio.Task[object]]] = {}
        self._on_demand: set[asyncio.Task[SampleBatch]] = set()
        self._closing = False

    # ----------------------------------------------------------------- jobs

    async def start(
        self, request: JobRequest, *, pack: StylePack | None = None, origin: JobOrigin = "service"
    ) -> JobRecord:
        """Admit, store and start a job of any kind; return it (status ``queued``).

        Args:
            request: The job's request.
            pack: A style pack the caller resolved itself (the CLI's ``--style file.yaml``).
            origin: ``cli`` for the command line (judge prompt paths allowed, not resumed by a server).

        Raises:
            LimitExceededError: The concurrent-jobs limit is reached (checked and taken atomically).
        """
        if self._closing:
            raise ShuttingDownError("the service is shutting down; start the job again after the restart")
        kind = kind_of(request)
        snapshot = kind.admit(request, self.limits, self.styles, pack=pack, local=origin == "cli")
        ticket = self.admission.acquire(
            {JOBS_POOL: Claim(1, self.limits.max_concurrent_jobs)}, refusals={JOBS_POOL: JOBS_REFUSAL}
        )
        try:
            record = await self.store.run(self.store.create_job, uuid.uuid4().hex, request, snapshot, origin)
        except BaseException:
            ticket.release()
            raise
        self._launch(record, snapshot, ticket)
        logger.info("job %s started: %s", record.id, record.request.model_dump_json(include={"kind", "style", "n"}))
        return record

    def _launch(self, record: JobRecord, pack: StylePack | None, ticket: Ticket) -> None:
        execution = JobExecution(record, pack, self.engine, self.store, self.hub, self.observer, on_end=ticket.release)
        # a fresh context: the job outlives the request that started it (and its request id)
        task: asyncio.Task[object] = asyncio.create_task(
            execution.run(), name=f"job-{record.id}", context=contextvars.Context()
        )
        self._running[record.id] = (execution, task)

        def ended(_: asyncio.Task[object]) -> None:
            ticket.release()
            self._running.pop(record.id, None)

        task.add_done_callback(ended)

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
        check_judge(judge)
        pack = self.styles.resolve(style)
        ticket = self.admission.acquire(
            {SAMPLES_POOL: Claim(1, self.limits.max_concurrent_sample_requests)},
            refusals={SAMPLES_POOL: SAMPLES_REFUSAL},
        )
        try:
            deps = await asyncio.to_thread(
                self.engine.loop_deps, pack, workspace, judge=judge, config=LoopConfig(max_rewrites=max_rewrites)
            )
        except BaseException:
            ticket.release()
            raise
        seconds = min(timeout or self.limits.sample_timeout_s, self.limits.sample_timeout_s)
        task = asyncio.create_task(run_on_demand(deps, k, topic, seconds, self.observer.on_sample))
        self._on_demand.add(task)
        task.add_done_callback(lambda _: ticket.release())
        task.add_done_callback(self._on_demand.discard)
        return await task

    async def judge(
        self, style: str, prompt: str, dialogues: Sequence[tuple[builtins.list[Turn], str | None]]
    ) -> tuple[StylePack, builtins.list[Verdict], TokenUsage]:
        """Score a user's own dialogues ((turns, persona or None) pairs) with a style's rubric."""
        if not 1 <= len(dialogues) <= MAX_JUDGE_ITEMS:
            raise InvalidRequestError(f"send between 1 and {MAX_JUDGE_ITEMS} dialogues, got {len(dialogues)}")
        check_judge(prompt)
        pack = self.styles.resolve(style)
        verdicts, usage = await judge_many(self.engine.models.judge, judge_prompt(prompt), pack, dialogues)
        self.observer.on_usage({"judge": usage})
        return pack, verdicts, usage

    # ------------------------------------------------------- start and stop

    async def resume(self) -> builtins.list[str]:
        """Continue every job this service left queued, running or interrupted; return their ids."""
        resumed = []
        for record in await self.store.run(self.store.jobs_with_status, RESUMABLE_STATUSES, "service"):
            if await self._relaunch(record):
                resumed.append(record.id)
        return resumed

    async def resume_job(self, job_id: str) -> JobRecord:
        """Continue one unfinished job (the CLI's ``--resume``); a job that already ended is returned as is.

        Raises:
            JobNotFoundError: No job has this id.
        """
        record = await self.get(job_id)
        if record.status in RESUMABLE_STATUSES and job_id not in self._running:
            await self._relaunch(record)
        return await self.get(job_id)

    async def latest_like(
        self, request: JobRequest, pack: StylePack | None, statuses: tuple[JobStatus, ...]
    ) -> JobRecord | None:
        """Return the newest job with exactly this request and style pack, in one of these statuses."""
        for record in reversed(await self.store.run(self.store.jobs_with_status, statuses)):
            if record.request != request:
                continue
            stored = await self.store.run(self.store.job_pack, record.id)
            if (stored.digest() if stored else None) == (pack.digest() if pack else None):
                return record
        return None

    async def _relaunch(self, record: JobRecord) -> bool:
        """Start a new execution of a stored job (counted against the job limit, never refused)."""
        if record.cancel_requested:
            await self.store.run(self.store.update_job, record.id, status="cancelled")
            return False
        pack = await self.store.run(self.store.job_pack, record.id)
        ticket = self.admission.acquire({JOBS_POOL: Claim(1, self.limits.max_concurrent_jobs)}, force=True)
        self._launch(record, pack, ticket)
        logger.info("job %s resumed (%d accepted so far)", record.id, record.progress.accepted)
        return True

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
        return self.admission.held(JOBS_POOL)

    def runner_of(self, job_id: str) -> JobRun | None:
        """Return the live runner of a job (tests and diagnostics)."""
        active = self._running.get(job_id)
        return active[0].runner if active else None
