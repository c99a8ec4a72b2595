"""Run one stored job: wire a JobRunner, write every finished sample as it finishes, publish updates."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from functools import partial
from typing import Literal, Protocol

from agents.schemas import Sample, TokenUsage, utc_now
from agents.styles import StylePack
from graph.faults import is_storage_full
from graph.progress import JobEvent, JobProgress, JobSummary, StopReason
from service.engine import Engine
from service.jobs.errors import LeaseLostError
from service.jobs.events import EventHub, Throttle
from service.jobs.into import write_version
from service.jobs.kinds import JobRun, RunContext, kind_of
from service.jobs.models import JobRecord, JobStatus, JobUpdate
from service.jobs.store import JobStore

logger = logging.getLogger(__name__)

RESUMES = "the job continues from what is stored once space is freed (the service resumes it by itself)"

UpdateKind = Literal["snapshot", "sample", "progress", "status", "end"]


class JobObserver(Protocol):
    """Receives finished samples and ended jobs (e.g. to update metrics)."""

    def on_sample(self, sample: Sample) -> None:
        """Count one finished sample."""

    def on_job_end(self, record: JobRecord) -> None:
        """Count one ended job."""

    def on_usage(self, tokens: dict[str, TokenUsage]) -> None:
        """Count LLM calls made outside jobs."""


class NullObserver:
    """An observer that ignores everything."""

    def on_sample(self, sample: Sample) -> None:
        """Ignore the sample."""

    def on_job_end(self, record: JobRecord) -> None:
        """Ignore the job."""

    def on_usage(self, tokens: dict[str, TokenUsage]) -> None:
        """Ignore the usage."""


def final_status(stop: StopReason, interrupted: bool, cancel_requested: bool) -> JobStatus:
    """Map a runner's stop reason to the job's final status."""
    if stop in ("completed", "exhausted"):
        return "completed"
    if stop == "cancelled":
        return "interrupted" if interrupted and not cancel_requested else "cancelled"
    if stop == "errors":
        return "failed"
    return "incomplete"


class JobExecution:
    """One run of one job (a resumed job gets a new execution that continues from the store)."""

    def __init__(
        self,
        record: JobRecord,
        pack: StylePack | None,
        engine: Engine,
        store: JobStore,
        hub: EventHub,
        observer: JobObserver,
        *,
        owner: str | None = None,
        on_end: Callable[[], None] = lambda: None,
        on_storage_full: Callable[[str], None] = lambda reason: None,
    ) -> None:
        """Keep what the run needs; nothing starts until :meth:`run`.

        ``owner`` holds the job's lease: every write names it, and stops once another process
        holds the lease. ``on_end`` is called as soon as the job shows its final status (it frees
        the job's slot); ``on_storage_full`` when a write failed because the disk is full.
        """
        self.record, self.pack, self.engine, self.store = record, pack, engine, store
        self.hub, self.observer, self.owner = hub, observer, owner
        self.on_end, self.on_storage_full = on_end, on_storage_full
        self.runner: JobRun | None = None
        self.cancel_requested = record.cancel_requested
        self.interrupted = False
        self.lease_lost = False
        self.stalled = False  # ended by a full disk (or its end could not be written): to be resumed
        self.faulted = False  # ended without a summary (an exception, or cut short): the stored progress is the truth
        self.stored_progress = record.progress
        self.status: JobStatus = "queued"
        self.summary: JobSummary | None = None
        self.error = ""
        self.version: str | None = record.version  # the data set version written with ``into``
        self.ticks = Throttle(lambda: self.publish("progress", "running"))

    @property
    def job_id(self) -> str:
        """The job's id."""
        return self.record.id

    def progress(self) -> JobProgress:
        """Return the live progress (the stored one before the runner exists)."""
        if self.runner is None or self.faulted:
            return self.stored_progress.model_copy(update={"in_flight": 0}) if self.faulted else self.stored_progress
        return self.runner.progress()

    def snapshot(self) -> JobRecord:
        """Return the job as it is now (served from memory while it runs: no database read)."""
        return self.record.model_copy(
            update={
                "status": self.status,
                "progress": self.progress(),
                "summary": self.summary,
                "error": self.error,
                "cancel_requested": self.cancel_requested,
                "version": self.version,
                "updated_at": utc_now(),
            }
        )

    async def lose_lease(self, holder: str) -> None:
        """Stop at once without writing: another process holds the job's lease now."""
        self.lease_lost = True
        self.error = f"another process ({holder}) runs this job now; stopped here"
        if self.runner is not None:
            await self.runner.cancel()

    async def cancel(self, *, interrupt: bool = False) -> None:
        """Stop starting samples; in-flight ones finish. ``interrupt``: shutdown, to be resumed later."""
        if interrupt:
            self.interrupted = True
        else:
            self.cancel_requested = True
        if self.runner is not None:
            await self.runner.cancel()

    def publish(self, kind: UpdateKind, status: JobStatus, sample: Sample | None = None) -> None:
        """Send an update to the job's subscribers."""
        progress = self.progress()
        self.hub.publish(
            JobUpdate(
                job_id=self.job_id,
                seq=self.hub.next_seq(self.job_id),
                kind=kind,
                status=status,
                progress=progress,
                rate_per_min=progress.rate_per_min,
                sample_id=sample.id if sample else None,
                sample_status=sample.status if sample else None,
            )
        )

    async def _on_event(self, event: JobEvent) -> None:
        """Persist a finished sample with the job's progress, then tell the subscribers."""
        if event.kind == "progress":  # a kind that makes no samples (clean) says how far it got
            if self.status == "running":
                self.ticks.offer()
            return
        if event.kind != "sample" or event.sample is None:
            return
        await self.store.run(self.store.add_sample, self.job_id, event.sample, event.progress, self.owner)
        self.stored_progress = event.progress
        self.observer.on_sample(event.sample)
        self.publish("sample", "running", event.sample)

    async def _prepare(self) -> JobRun:
        """Load what the job already made and build its run (it continues from those samples)."""
        previous = await self.store.run(self.store.samples, self.job_id, None)
        context = RunContext(
            job_id=self.job_id,
            request=self.record.request,
            pack=self.pack,
            engine=self.engine,
            previous=previous,
            elapsed_s=self.record.progress.elapsed_s,
            on_event=self._on_event,
            local=self.record.origin == "cli",
        )
        return await kind_of(self.record.request).build(context)

    async def run(self) -> JobStatus:
        """Run the job to its end, persisting the final status; return it. Never raises but CancelledError."""
        try:
            self.runner = await self._prepare()
            if self.cancel_requested or self.interrupted:
                await self.runner.cancel()
            write = partial(self.store.update_job, self.job_id, status="running", owner=self.owner)
            await self.store.run(write, progress=self.progress())
            self.status = "running"
            self.publish("status", "running")
            summary = await self.runner.run()
        except asyncio.CancelledError:
            self.faulted = True
            status: JobStatus = "cancelled" if self.cancel_requested else "interrupted"
            await self._finish(status, None, "stopped before its in-flight samples finished")
            raise
        except Exception as exc:  # a broken job must not take the service down
            return await self._fault(exc)
        if self.lease_lost:
            return await self._fault(LeaseLostError(self.error))
        status = final_status(summary.stop_reason, self.interrupted, self.cancel_requested)
        message = summary.message
        if self.record.request.into is not None and status != "interrupted":
            try:
                message = await self._write_version(summary, message)
            except Exception as exc:  # a full disk: resumed later, and the version written then
                return await self._fault(exc)
        await self._finish(status, summary, message)
        return status

    async def _write_version(self, summary: JobSummary, message: str) -> str:
        """Write the accepted samples as a version of ``into``; return the job's message (with any failure).

        Raises:
            Exception: Only a full disk (the job is then resumed, and writes the version at its end).
        """
        written = getattr(self.runner, "written_version", None)  # a kind that writes its own version (clean)
        if written is not None:
            self.version = written
            return message
        planner = getattr(self.runner, "version_plan", None)  # a kind that says how its version is written
        args = (self.store, self.record, summary.accepted, summary.target, planner() if planner else None)
        try:
            version = await asyncio.to_thread(write_version, *args)
        except Exception as exc:
            if is_storage_full(exc):
                raise
            logger.error("job %s: its data set version was not written", self.job_id, exc_info=exc)
            return "; ".join(filter(None, [message, f"the data set version was not written: {exc}"]))
        self.version = version.ref if version else None
        return message

    async def _fault(self, exc: Exception) -> JobStatus:
        """End the job after an exception, with a status and a reason that say what happened."""
        self.faulted = True
        reason = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        if isinstance(exc, LeaseLostError) or self.lease_lost:
            logger.warning("job %s stopped: %s", self.job_id, self.error or exc)
            await self._finish("interrupted", None, self.error or str(exc), write=False)
            return "interrupted"
        if is_storage_full(exc):
            self.stalled = True
            self.on_storage_full(reason)
            await self._finish("interrupted", None, f"disk full: {str(exc).splitlines()[0]}; {RESUMES}")
            return "interrupted"
        logger.error("job %s failed: %s", self.job_id, reason, exc_info=exc)
        await self._finish("failed", None, reason)
        return "failed"

    async def _finish(self, status: JobStatus, summary: JobSummary | None, error: str, *, write: bool = True) -> None:
        """Persist the final state and give the lease up (shielded from cancellation), then publish the end.

        A write that fails (a full disk) never raises: the job keeps its status in memory, is
        marked ``stalled``, and the store still says it is unfinished, so it is resumed later.
        """
        self.status, self.summary, self.error = status, summary, error
        self.ticks.close()
        self.on_end()
        if write:
            final = partial(
                self.store.update_job, self.job_id, status=status, summary=summary, error=error, version=self.version
            )
            try:
                await asyncio.shield(self.store.run(final, progress=self.progress(), owner=self.owner, release=True))
            except asyncio.CancelledError:  # the write goes on (shielded); the readers still get the end
                self.publish("end", status)
                raise
            except Exception as exc:
                self._unwritten(exc)
        self.publish("end", status)
        self.observer.on_job_end(self.snapshot())
        logger.info("job %s ended: %s%s", self.job_id, status, f" ({error})" if error else "")

    def _unwritten(self, exc: Exception) -> None:
        """Note that the job's end could not be written: it stays unfinished in the store."""
        self.stalled = True
        if is_storage_full(exc):
            self.on_storage_full(f"{type(exc).__name__}: {exc}")
            if not self.error.startswith("disk full"):
                self.error = f"disk full: the end of the job could not be stored; {RESUMES}"
        logger.error("job %s: its end (%s) could not be stored: %s", self.job_id, self.status, exc)
