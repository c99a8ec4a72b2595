"""The calls a chat request turns into: jobs within the chat bounds, status, cancel, samples, files.

Platform-neutral: an adapter (Slack, Feishu, DingTalk, ...) never calls this directly; it hands
requests to ``service.chatops.dispatch.ChatDispatcher``, which calls :class:`ChatOpsService`.
Status and cancel answer only for jobs started from the same chat (``chat_jobs`` remembers
which), so a job id seen elsewhere reveals nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from agents.schemas import Sample
from agents.styles import StylePack
from graph.datasets.errors import DatasetError
from graph.datasets.export import ExportError, ExportFormat, iter_jsonl_lines
from graph.datasets.manifest import Manifest
from graph.datasets.store import DatasetStore
from graph.progress import JobSummary
from service.chatops import texts
from service.chatops.bounds import ChatAdmission, Seat
from service.chatops.commands import ChatCommand, DatasetJobCommand, JobCommand
from service.chatops.errors import ChatOpsError
from service.chatops.grammar import CommandError, Vocabulary, parse_command
from service.chatops.links import DownloadLinks
from service.chatops.report import MAX_CONCURRENT_REPORTS, MAX_QUEUED_REPORTS, ChatReport, chat_report, report_folder
from service.chatops.store import Anchor, ChatJob, ChatJobStore
from service.chatops.views import status_text, view_of
from service.jobs.errors import JobNotFoundError, JobServiceError
from service.jobs.models import JobRecord, JobRequest, JobUpdate, Limits, SampleBatch
from service.report_inputs import JobRejections, job_rejections, writing_jobs

logger = logging.getLogger(__name__)


class JobBackend(Protocol):
    """The part of ``service.jobs.manager.JobManager`` the chat layer uses."""

    @property
    def limits(self) -> Limits:
        """Return the service's bounds."""
        ...

    async def start(self, request: JobRequest, *, key: str | None = None) -> JobRecord:
        """Start a job (``key``: a client key; a retry with it returns the job the first made)."""
        ...

    async def get(self, job_id: str) -> JobRecord:
        """Return a job."""
        ...

    async def cancel(self, job_id: str) -> JobRecord:
        """Cancel a job."""
        ...

    async def samples(self, job_id: str) -> list[Sample]:
        """Return a job's accepted samples."""
        ...

    def subscribe(self, job_id: str) -> AsyncIterator[JobUpdate]:
        """Yield a job's progress updates until it ends."""
        ...

    async def sample_now(self, style: str, k: int, topic: str | None, timeout: float | None) -> SampleBatch:
        """Make k samples now."""
        ...


@dataclass(frozen=True)
class ChatContext:
    """Who asked, and where: ids as the platform gives them."""

    platform: str
    team: str
    user: str
    channel: str

    @property
    def user_key(self) -> str:
        """Return the user's key across platforms and workspaces."""
        return f"{self.platform}:{self.team}:{self.user}"

    @property
    def channel_key(self) -> str:
        """Return the chat's key across platforms and workspaces."""
        return f"{self.platform}:{self.team}:{self.channel}"


class ChatOpsService:
    """Parse commands, start jobs within the bounds, answer status and cancel, make samples and files."""

    def __init__(
        self,
        backend: JobBackend,
        styles: Callable[[], Mapping[str, StylePack]],
        chat_jobs: ChatJobStore,
        admission: ChatAdmission,
        links: DownloadLinks,
        datasets: DatasetStore | None = None,
    ) -> None:
        """Wrap a job backend.

        Args:
            backend: The job manager.
            styles: Return the style packs users may ask for, keyed by name.
            chat_jobs: The durable record of jobs started from chat.
            admission: The per-user and per-channel bounds.
            links: Makes the short-lived download links of data sets.
            datasets: The data set versions that clean, augment and report read (None: those commands refused).
        """
        self.backend, self.styles, self.chat_jobs = backend, styles, chat_jobs
        self.admission, self.links, self.datasets = admission, links, datasets
        self._reports = asyncio.Semaphore(MAX_CONCURRENT_REPORTS)  # reports share the cores with the jobs
        self._reports_queued = 0  # being built or waiting, at most MAX_QUEUED_REPORTS

    # ----------------------------------------------------------------- parsing

    @property
    def max_n(self) -> int:
        """Return the largest n one chat job may ask for."""
        b = self.admission.bounds
        return min(self.backend.limits.max_job_n, b.max_n_per_user, b.max_n_per_channel)

    def vocabulary(self) -> Vocabulary:
        """Return the styles (name -> aliases) and the largest n, for the parser."""
        packs = self.styles()
        return Vocabulary({name: list(pack.aliases) for name, pack in packs.items()}, self.max_n)

    def parse(self, text: str) -> ChatCommand:
        """Parse command text; raise :class:`CommandError` in plain words."""
        return parse_command(text, self.vocabulary())

    def help(self, prefix: str) -> str:
        """Return the help text for an adapter whose users type ``prefix``."""
        return texts.help_text(prefix, self.max_n)

    def styles_text(self) -> str:
        """Return the style list."""
        return texts.styles_text(self.styles())

    # -------------------------------------------------------------------- jobs

    async def start(
        self, command: JobCommand, ctx: ChatContext, anchor: Anchor, delivery: str | None = None
    ) -> ChatJob:
        """Start a command's job within the bounds and remember the chat it came from.

        ``delivery`` (the request's delivery key) is the job's client key, so a retried delivery
        finds the job its first copy started (also when the server was killed before the job was
        recorded here), and it is marked handled with the job's record.

        The caller follows the job and calls :meth:`delivered` (or :meth:`release`) at its end.

        Raises:
            ChatOpsError: A bound is reached, or the job service refused the request.
        """
        command = await self.pin(command)
        n = command.n
        reservation = self.admission.reserve(Seat(ctx.user_key, ctx.channel_key, n))
        try:
            key = f"chat:{delivery}" if delivery else None
            request = command.job_request()
            record = await self.backend.start(request, key=key)
            job = ChatJob(
                record.id, ctx.platform, ctx.user_key, ctx.channel_key, command.label, n, command.format, anchor,
                kind=request.kind,
            )  # fmt: skip
            await self.chat_jobs.run(self.chat_jobs.add, job, delivery)
        except (JobServiceError, DatasetError) as exc:
            self.admission.release(reservation)
            raise ChatOpsError(str(exc)) from None
        except BaseException:
            self.admission.release(reservation)
            raise
        self.admission.confirm(reservation, record.id)
        logger.info("chat job %s started by %s in %s: %s x %d", job.job_id, ctx.user_key, ctx.channel_key, job.label, n)
        return job

    async def pin(self, command: JobCommand) -> JobCommand:
        """Return a data set command on its resolved version, with ``n`` from its rows (others as given).

        Raises:
            ChatOpsError: The version does not exist (the message lists the versions that do).
        """
        if not isinstance(command, DatasetJobCommand):
            return command
        manifest = await self.resolve(command.ref)
        return command.pinned(manifest.ref, manifest.rows)

    async def resolve(self, ref: str) -> Manifest:
        """Return a data set version's manifest (read in a worker thread).

        Raises:
            ChatOpsError: There is no data set store here, or no such version (the message lists what exists).
        """
        if self.datasets is None:
            raise ChatOpsError("data set commands are not available on this server.")
        try:
            return await asyncio.to_thread(self.datasets.resolve, ref)
        except DatasetError as exc:
            raise ChatOpsError(str(exc)) from None

    def adopt(self, job: ChatJob) -> None:
        """Count a job followed again after a restart against its user's and chat's bounds."""
        self.admission.adopt(job.job_id, Seat(job.user_key, job.channel_key, job.n))

    async def posted(self, job_id: str, anchor: Anchor) -> None:
        """Remember where a job's progress message is (for a restart)."""
        await self.chat_jobs.run(self.chat_jobs.set_posted, job_id, anchor)

    async def file_sent(self, job_id: str) -> None:
        """Remember that a job's file is in the chat (a restart sends only what is left)."""
        await self.chat_jobs.run(self.chat_jobs.set_file_sent, job_id)

    async def delivered(self, job_id: str) -> None:
        """Mark a job's file and summary delivered and stop counting it against the bounds."""
        await self.chat_jobs.run(self.chat_jobs.finish, job_id)
        self.admission.release(job_id)

    def release(self, job_id: str) -> None:
        """Stop counting a job that is no longer followed here (it is picked up again after a restart)."""
        self.admission.release(job_id)

    def updates(self, job_id: str) -> AsyncIterator[JobUpdate]:
        """Return the job's progress updates (ending with ``end``)."""
        return self.backend.subscribe(job_id)

    async def record(self, job_id: str) -> JobRecord:
        """Return a job's record, or raise ChatOpsError when there is none."""
        try:
            return await self.backend.get(job_id)
        except JobNotFoundError:
            raise ChatOpsError(f"there is no job `{job_id}`.") from None
        except JobServiceError as exc:
            raise ChatOpsError(str(exc)) from None

    async def chat_job(self, job_id: str, ctx: ChatContext) -> ChatJob:
        """Return a job started from this chat, or raise ChatOpsError (the same words for any other id)."""
        job = await self.chat_jobs.run(self.chat_jobs.get, job_id)
        if job is None or job.channel_key != ctx.channel_key:
            raise ChatOpsError(f"there is no job `{job_id}` started from this chat.")
        return job

    async def status(self, job_id: str, ctx: ChatContext) -> str:
        """Return a job's status in words, with a fresh download link once it has samples and has ended."""
        job = await self.chat_job(job_id, ctx)
        record = await self.record(job_id)
        text = status_text(job, record.status, record.progress, record.summary, record.version)
        if view_of(job).delivers_file and not record.active and record.progress.accepted:
            text += "\n" + texts.download_text(job_id, self.download_url(job_id, job.format), self.links.ttl_s)
        return text

    async def cancel(self, job_id: str, ctx: ChatContext) -> str:
        """Cancel a job started from this chat."""
        job = await self.chat_job(job_id, ctx)
        try:
            await self.backend.cancel(job_id)
        except JobNotFoundError:
            raise ChatOpsError(f"there is no job `{job_id}` started from this chat.") from None
        except JobServiceError as exc:
            raise ChatOpsError(str(exc)) from None
        return view_of(job).cancelling(job)

    async def sample(self, style: str) -> str:
        """Make one sample now and return it with its scores."""
        try:
            batch = await self.backend.sample_now(style, 1, None, None)
        except JobServiceError as exc:
            raise ChatOpsError(str(exc)) from None
        if not batch.samples:
            reason = batch.message or ("it timed out" if batch.timed_out else "no sample finished")
            raise ChatOpsError(f"I could not make a {style} sample: {reason}.")
        return texts.sample_text(batch.samples[0].sample, style)

    # ------------------------------------------------------------------ output

    def download_url(self, job_id: str, fmt: ExportFormat) -> str:
        """Return a short-lived link to a job's data set (no API key needed)."""
        return self.links.url(job_id, fmt)

    async def report(self, ref: str) -> ChatReport:
        """Build the QC report of a version (in a worker thread, bounded in rows, one build at a time)."""
        assert self.datasets is not None
        manifest = await self.resolve(ref)
        if self._reports_queued >= MAX_QUEUED_REPORTS:
            raise ChatOpsError(f"{self._reports_queued} reports are being built or waiting; ask again in a minute.")
        self._reports_queued += 1
        try:
            async with self._reports:
                return await chat_report(self.datasets, manifest, self.styles(), await self._job_rejections(manifest))
        finally:
            self._reports_queued -= 1

    async def _job_rejections(self, manifest: Manifest) -> JobRejections:
        """Return the rejections of the job that wrote the version, if a job did (shown beside its rows)."""
        found: dict[str, tuple[str, JobSummary | None]] = {}
        for ref, job_id in writing_jobs([manifest]).items():
            try:
                found[ref] = (job_id, (await self.backend.get(job_id)).summary)
            except JobServiceError:  # the job is gone from the store: the report shows the rows only
                continue
        return job_rejections(found)

    def report_url(self, ref: str) -> str:
        """Return a short-lived link to a version's chat report."""
        return self.links.report_url(ref)

    async def report_path(self, ref: str) -> Path | None:
        """Return where a version's chat report is kept, or None when there is none."""
        if self.datasets is None:
            return None
        try:
            manifest = await self.resolve(ref)
        except ChatOpsError:
            return None
        path = report_folder(self.datasets, manifest) / "report.html"
        return path if path.is_file() else None

    async def dataset(self, job_id: str, fmt: ExportFormat) -> tuple[bytes, int]:
        """Return a job's accepted samples as JSONL bytes, and how many there are."""
        samples = [s for s in await self.backend.samples(job_id) if s.status == "accepted"]
        try:
            return "".join(iter_jsonl_lines(samples, fmt)).encode("utf-8"), len(samples)
        except ExportError as exc:
            raise ChatOpsError(f"the data set could not be exported as {fmt}: {exc}") from None


def describe_error(exc: BaseException) -> str:
    """Return a user-facing message for an error (internal errors are not described)."""
    if isinstance(exc, CommandError | ChatOpsError):
        return texts.error_text(str(exc))
    return texts.error_text("something went wrong on my side; the error is logged.")
