"""JobManager: the platform-neutral job service that the HTTP routes and the Slack bot both call.

Public API (all coroutines run on the event loop the manager was started in)::

    manager = JobManager(engine, store, styles, limits, observer=None, owner_id=owner.owner_id, lease_s=30)
    await manager.resume()                        # at startup: continue jobs left queued/running/interrupted
    record = await manager.resume_job(job_id)     # continue one stored job (the CLI's --resume / --job)
    record = await manager.start(GenerateJobRequest(style="gentle", n=50))   # -> JobRecord (status "queued")
    record = await manager.start(request, pack=pack, origin="cli")   # the CLI: its own pack, paths allowed
    record = await manager.start(request, key="http:abc")   # a retry with the same key: the same job
    record = await manager.get(job_id)            # live progress while running
    page = await manager.list(offset=0, limit=20) # -> JobPage, newest first
    record = await manager.cancel(job_id)         # stop starting samples; in-flight ones finish
    samples = await manager.samples(job_id, status="accepted")   # -> list[Sample] ("rejected", None = all)
    async for page in manager.iter_samples(job_id, "accepted"): ...   # pages of samples, for streaming
    async for update in manager.subscribe(job_id): ...   # JobUpdate: snapshot, sample..., end (then stops)
    batch = await manager.sample_now("gentle", k=3, topic=None, timeout=60)   # -> SampleBatch
    pack, verdicts, usage = await manager.judge("gentle", "anchored", [(turns, None)])   # user's own data
    status = await manager.storage_status()       # can the store take writes (a full disk)?
    await manager.shutdown()                      # stop taking work, let in-flight samples finish, persist

Errors (``service.jobs.errors``, each message says what to fix): ``JobNotFoundError``,
``JobConflictError`` (e.g. cancel an ended job; ``LeaseLostError``: another process runs it;
``IdempotencyConflictError``: a client key sent again with another request),
``LimitExceededError`` (too many running jobs, event readers or on-demand requests),
``InvalidRequestError`` (n too large, unknown judge prompt, k out of range),
``StyleNotFoundError``, ``ShuttingDownError``, ``StorageFullError`` (the disk is full).

Every kind of job (``service.jobs.kinds``) runs the same way: admitted atomically against the
concurrent-jobs limit, stored, then run by a :class:`JobExecution` that writes every finished
sample as it finishes. A job found ``queued``/``running``/``interrupted`` at startup (the process
was killed, or shut down) is resumed: its run is built from every sample stored so far, so it
ends with exactly n accepted samples and no duplicated id. The service resumes the jobs it
started; a command-line job waits for ``dialogforge generate --resume`` (``resume_job``). A job
runs only while this manager holds its lease (``service.jobs.upkeep`` renews it, and resumes the
jobs a full disk stopped once the store can be written again).
"""

from __future__ import annotations

import asyncio
import builtins
import contextvars
import logging
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from functools import partial

from agents.judge_plan import plan_for
from agents.schemas import Sample, TokenUsage, Turn, Verdict
from agents.styles import StylePack
from service.engine import Engine
from service.jobs.admission import Admission, Claim, Ticket
from service.jobs.client_keys import ClientKey
from service.jobs.errors import (
    InvalidRequestError,
    JobConflictError,
    JobNotFoundError,
    LimitExceededError,
    ShuttingDownError,
    StorageFullError,
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
    JobUpdate,
    Limits,
)
from service.jobs.ondemand import OnDemand
from service.jobs.owner import new_owner_id
from service.jobs.storage import StorageMonitor, StorageStatus
from service.jobs.store import JobStore
from service.jobs.styles import StyleRegistry
from service.jobs.upkeep import Upkeep

logger = logging.getLogger(__name__)

MAX_PAGE = 100
MAX_JUDGE_ITEMS = 20
JOBS_POOL = "jobs"
JOBS_REFUSAL = "{held} jobs are running (max {limit}); wait for one to end or cancel one"
DEFAULT_LEASE_S = 30.0


class JobManager:
    """Start, watch, cancel and resume dataset jobs; make on-demand samples."""

    def __init__(
        self,
        engine: Engine,
        store: JobStore,
        styles: StyleRegistry,
        limits: Limits | None = None,
        observer: JobObserver | None = None,
        *,
        owner_id: str | None = None,
        lease_s: float = DEFAULT_LEASE_S,
        recover: bool = True,
    ) -> None:
        """Keep the shared engine and store; nothing runs until :meth:`start` or :meth:`resume`.

        ``owner_id`` (the data directory owner's) is written into the lease of every job this
        manager runs; ``lease_s`` is how long a lease lasts unrenewed; ``recover``: resume jobs
        a full disk stopped once it can be written again (the service; the CLI exits instead).
        """
        self.engine, self.store, self.styles = engine, store, styles
        self.limits = limits or Limits()
        self.observer: JobObserver = observer or NullObserver()
        self.hub = EventHub(self.limits.event_queue_size, self.limits.max_event_subscribers)
        self.admission = Admission()
        self.owner_id, self.lease_s = owner_id or new_owner_id(), lease_s
        self.storage = StorageMonitor(store)
        self.upkeep = Upkeep(self, recover=recover)
        self._running: dict[str, tuple[JobExecution, asyncio.Task[object]]] = {}
        self.stalled: dict[str, JobExecution] = {}  # stopped by a full disk: the upkeep resumes them
        self.on_demand = OnDemand(
            engine, styles, self.limits, self.admission, lambda sample: self.observer.on_sample(sample)
        )
        self.sample_now = self.on_demand.sample  # make up to k accepted samples now (not a job)
        self._closing = False

    # ----------------------------------------------------------------- jobs

    async def start(
        self,
        request: JobRequest,
        *,
        pack: StylePack | None = None,
        origin: JobOrigin = "service",
        key: str | None = None,
    ) -> JobRecord:
        """Admit, store and start a job of any kind; return it (status ``queued``).

        Args:
            request: The job's request.
            pack: A style pack the caller resolved itself (the CLI's ``--style file.yaml``).
            origin: ``cli`` for the command line (judge prompt paths allowed, not resumed by a server).
            key: A client key (``service.jobs.client_keys``): a creation sent again with it
                returns the job the first one made, in whatever state it is now, and starts nothing.

        Raises:
            LimitExceededError: The concurrent-jobs limit is reached (checked and taken atomically).
            IdempotencyConflictError: ``key`` was used for another request.
        """
        client_key = ClientKey.of(key, request) if key is not None else None
        if known := await self._keyed(client_key):
            return known
        if self._closing:
            raise ShuttingDownError("the service is shutting down; start the job again after the restart")
        kind = kind_of(request)
        snapshot = kind.admit(request, self.limits, self.styles, pack=pack, local=origin == "cli")
        try:
            ticket = self.admission.acquire(
                {JOBS_POOL: Claim(1, self.limits.max_concurrent_jobs)}, refusals={JOBS_POOL: JOBS_REFUSAL}
            )
        except LimitExceededError:  # a copy sent at the same time may hold the slot: its create is queued before us
            if known := await self._keyed(client_key):
                return known
            raise
        create = partial(self.store.create_job, owner=self.owner_id, lease_s=self.lease_s, key=client_key)
        job_id = uuid.uuid4().hex
        try:
            record = await self.store.run(create, job_id, request, snapshot, origin)
        except StorageFullError as exc:
            ticket.release()
            self.storage.report_full(str(exc))
            raise
        except BaseException:
            ticket.release()
            raise
        if record.id != job_id:  # the same key won a race: the job exists already
            ticket.release()
            return await self.get(record.id)
        self._launch(record, snapshot, ticket)
        logger.info("job %s started: %s", record.id, record.request.model_dump_json(include={"kind", "style", "n"}))
        return record

    async def _keyed(self, key: ClientKey | None) -> JobRecord | None:
        """Return the job a client key names (live), or None."""
        known = await self.store.run(self.store.job_for_key, key) if key else None
        return await self.get(known.id) if known else None

    def _launch(self, record: JobRecord, pack: StylePack | None, ticket: Ticket) -> None:
        execution = JobExecution(
            record,
            pack,
            self.engine,
            self.store,
            self.hub,
            self.observer,
            owner=self.owner_id,
            on_end=ticket.release,
            on_storage_full=self.storage.report_full,
        )
        # a fresh context: the job outlives the request that started it (and its request id)
        task: asyncio.Task[object] = asyncio.create_task(
            execution.run(), name=f"job-{record.id}", context=contextvars.Context()
        )
        self._running[record.id] = (execution, task)
        self.stalled.pop(record.id, None)
        self.upkeep.start()
        task.add_done_callback(lambda done: self._ended(execution, done, ticket))

    def _ended(self, execution: JobExecution, task: asyncio.Task[object], ticket: Ticket) -> None:
        """A job's task is done: free its slot, keep it visible if its end is not stored, log any escape."""
        ticket.release()
        self._running.pop(execution.job_id, None)
        if execution.stalled:
            self.stalled[execution.job_id] = execution
        if not task.cancelled() and task.exception() is not None:  # JobExecution.run catches Exception
            logger.error("job %s: its task died", execution.job_id, exc_info=task.exception())

    def executions(self) -> dict[str, JobExecution]:
        """Return the executions running in this process, by job id."""
        return {job_id: execution for job_id, (execution, _) in self._running.items()}

    async def storage_status(self) -> StorageStatus:
        """Return whether the store can be written (free space; a probe write after a full disk)."""
        return await self.store.run(self.storage.check)

    async def get(self, job_id: str) -> JobRecord:
        """Return a job; while it runs, from memory with its live progress."""
        active = self._running.get(job_id)
        if active is not None:
            return active[0].snapshot()
        if job_id in self.stalled:  # its end may not be stored: what it is now is in memory
            return self.stalled[job_id].snapshot()
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
        if active is not None and record.active:  # an ended job's task may still be writing
            await self.store.run(self.store.update_job, job_id, cancel_requested=True)
            await active[0].cancel()
        elif active is None and record.status == "interrupted":
            await self.store.run(self.store.update_job, job_id, status="cancelled", cancel_requested=True)
            self.stalled.pop(job_id, None)
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

    # ------------------------------------------------------------ judging

    async def judge(
        self, style: str, prompt: str, dialogues: Sequence[tuple[builtins.list[Turn], str | None]]
    ) -> tuple[StylePack, builtins.list[Verdict], TokenUsage]:
        """Score a user's own dialogues ((turns, persona or None) pairs) with a style's rubric."""
        if not 1 <= len(dialogues) <= MAX_JUDGE_ITEMS:
            raise InvalidRequestError(f"send between 1 and {MAX_JUDGE_ITEMS} dialogues, got {len(dialogues)}")
        check_judge(prompt)
        pack = self.styles.resolve(style)
        verdicts, usage = await judge_many(self.engine.models.judge, plan_for(pack.rubric, prompt), pack, dialogues)
        self.observer.on_usage({"judge": usage})
        return pack, verdicts, usage

    # ------------------------------------------------------- start and stop

    async def resume(self) -> builtins.list[str]:
        """Continue every job this service left queued, running or interrupted; return their ids."""
        resumed = []
        for record in await self.store.run(self.store.jobs_with_status, RESUMABLE_STATUSES, "service"):
            if await self.relaunch(record) is None and not record.cancel_requested:
                resumed.append(record.id)
        return resumed

    async def resume_job(self, job_id: str) -> JobRecord:
        """Continue one unfinished job (the CLI's ``--resume``); a job that already ended is returned as is.

        Raises:
            JobNotFoundError: No job has this id.
            JobConflictError: Another process runs the job (it holds the job's lease).
        """
        record = await self.get(job_id)
        if record.status in RESUMABLE_STATUSES and job_id not in self._running:
            holder = await self.relaunch(record)
            if holder:
                raise JobConflictError(f"job {job_id} is being run by another process ({holder})")
        return await self.get(job_id)

    async def relaunch(self, record: JobRecord) -> str | None:
        """Claim a stored job's lease and run it again; return who holds the lease instead, if anyone.

        A relaunched job counts against the concurrent-jobs limit but is never refused by it; a
        job whose cancel was requested is marked cancelled instead.
        """
        if record.cancel_requested:
            await self.store.run(self.store.update_job, record.id, status="cancelled")
            return None
        holder = await self.store.run(self.store.claim_job, record.id, self.owner_id, self.lease_s)
        if holder is not None:
            logger.warning("job %s not resumed here: another process holds it (%s)", record.id, holder)
            return holder
        pack = await self.store.run(self.store.job_pack, record.id)
        ticket = self.admission.acquire({JOBS_POOL: Claim(1, self.limits.max_concurrent_jobs)}, force=True)
        self._launch(record, pack, ticket)
        logger.info("job %s resumed (%d accepted so far)", record.id, record.progress.accepted)
        return None

    async def shutdown(self, grace_s: float | None = None) -> None:
        """Stop taking work; let in-flight samples finish (bounded wait); mark unfinished jobs interrupted."""
        self._closing = self.on_demand.closing = True
        await self.upkeep.stop()
        grace = self.limits.shutdown_grace_s if grace_s is None else grace_s
        running = list(self._running.values())
        for execution, _ in running:
            await execution.cancel(interrupt=True)
        tasks = [task for _, task in running] + list(self.on_demand.tasks)
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
