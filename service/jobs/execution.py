"""Run one stored job: wire a JobRunner, write every finished sample as it finishes, publish updates."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Literal, Protocol

from agents.schemas import Sample, TokenUsage, utc_now
from agents.styles import StylePack
from graph.progress import JobEvent, JobProgress, JobSummary, StopReason
from service.engine import Engine
from service.jobs.events import EventHub
from service.jobs.kinds import JobRun, RunContext, kind_of
from service.jobs.models import JobRecord, JobStatus, JobUpdate
from service.jobs.store import JobStore

logger = logging.getLogger(__name__)

UpdateKind = Literal["snapshot", "sample", "status", "end"]


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
        on_end: Callable[[], None] = lambda: None,
    ) -> None:
        """Keep what the run needs; nothing starts until :meth:`run`.

        ``on_end`` is called as soon as the job shows its final status (it frees the job's slot).
        """
        self.record, self.pack, self.engine, self.store = record, pack, engine, store
        self.hub, self.observer, self.on_end = hub, observer, on_end
        self.runner: JobRun | None = None
        self.cancel_requested = record.cancel_requested
        self.interrupted = False
        self.status: JobStatus = "queued"
        self.summary: JobSummary | None = None
        self.error = ""

    @property
    def job_id(self) -> str:
        """The job's id."""
        return self.record.id

    def progress(self) -> JobProgress:
        """Return the live progress (the stored one before the runner exists)."""
        if self.runner is None:
            return self.record.progress
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
                "updated_at": utc_now(),
            }
        )

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
        if event.kind != "sample" or event.sample is None:
            return
        await self.store.run(self.store.add_sample, self.job_id, event.sample, event.progress)
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
        """Run the job to its end, persisting the final status; return it."""
        try:
            self.runner = await self._prepare()
            if self.cancel_requested or self.interrupted:
                await self.runner.cancel()
            await self.store.run(self.store.update_job, self.job_id, status="running", progress=self.progress())
            self.status = "running"
            self.publish("status", "running")
            summary = await self.runner.run()
        except asyncio.CancelledError:
            status: JobStatus = "cancelled" if self.cancel_requested else "interrupted"
            await self._finish(status, None, "stopped before its in-flight samples finished")
            raise
        except Exception as exc:  # a broken job must not take the service down
            logger.exception("job %s failed", self.job_id)
            await self._finish("failed", None, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
            return "failed"
        status = final_status(summary.stop_reason, self.interrupted, self.cancel_requested)
        await self._finish(status, summary, summary.message)
        return status

    async def _finish(self, status: JobStatus, summary: JobSummary | None, error: str) -> None:
        """Persist the final state (shielded from cancellation) and publish the end."""
        self.status, self.summary, self.error = status, summary, error
        self.on_end()
        write: Callable[[], None] = lambda: self.store.update_job(  # noqa: E731
            self.job_id, status=status, progress=self.progress(), summary=summary, error=error
        )
        await asyncio.shield(self.store.run(write))
        self.publish("end", status)
        record = await self.store.run(self.store.get_job, self.job_id)
        if record is not None:
            self.observer.on_job_end(record)
        logger.info("job %s ended: %s", self.job_id, status)
