"""The calls chat adapters make onto the job service, with per-user and per-channel bounds.

Platform-neutral: a Slack, Lark, DingTalk or WeCom adapter turns its events into a
:class:`ChatContext` and command text, and calls :class:`ChatOpsService`.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from agents.schemas import Sample
from agents.styles import StylePack
from graph.datasets.export import ExportError, ExportFormat, iter_jsonl_lines
from service.chatops import texts
from service.chatops.grammar import Command, CommandError, Generate, Vocabulary, parse_command
from service.jobs.errors import JobNotFoundError, JobServiceError
from service.jobs.models import JobRecord, JobRequest, JobUpdate, Limits, SampleBatch

logger = logging.getLogger(__name__)

MAX_KNOWN_JOBS = 1024


class JobBackend(Protocol):
    """The part of ``service.jobs.manager.JobManager`` the chat layer uses."""

    @property
    def limits(self) -> Limits:
        """Return the service's bounds."""
        ...

    async def start(self, request: JobRequest) -> JobRecord:
        """Start a job."""
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


class ChatOpsError(Exception):
    """A request the bot refuses or cannot serve; the message is for the user, in plain words."""


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
        """Return the channel's key across platforms and workspaces."""
        return f"{self.platform}:{self.team}:{self.channel}"


@dataclass(frozen=True)
class Bounds:
    """Per-user and per-channel bounds on samples (n summed over running jobs) and running jobs."""

    max_n_per_user: int = 1000
    max_n_per_channel: int = 2000
    max_jobs_per_user: int = 2
    max_jobs_per_channel: int = 4


@dataclass(frozen=True)
class _Owner:
    user_key: str
    channel_key: str
    n: int


class ChatOpsService:
    """Parse commands, start and follow jobs within the bounds, and answer in plain words."""

    def __init__(
        self,
        backend: JobBackend,
        styles: Callable[[], Mapping[str, StylePack]],
        bounds: Bounds | None = None,
        public_url: str | None = None,
    ) -> None:
        """Wrap a job backend.

        Args:
            backend: The job manager.
            styles: Return the style packs users may ask for, keyed by name.
            bounds: Per-user and per-channel bounds.
            public_url: The service's public base URL, for download links (else links are paths).
        """
        self.backend = backend
        self.styles = styles
        self.bounds = bounds or Bounds()
        self.public_url = (public_url or "").rstrip("/")
        self._running: dict[str, _Owner] = {}
        self._owners: OrderedDict[str, _Owner] = OrderedDict()

    # ----------------------------------------------------------------- parsing

    @property
    def max_n(self) -> int:
        """Return the largest n one chat job may ask for."""
        b = self.bounds
        return min(self.backend.limits.max_job_n, b.max_n_per_user, b.max_n_per_channel)

    def vocabulary(self) -> Vocabulary:
        """Return the styles (name -> aliases) and the largest n, for the parser."""
        packs = self.styles()
        return Vocabulary({name: list(pack.aliases) for name, pack in packs.items()}, self.max_n)

    def parse(self, text: str) -> Command:
        """Parse command text; raise :class:`CommandError` in plain words."""
        return parse_command(text, self.vocabulary())

    def help(self, prefix: str) -> str:
        """Return the help text for an adapter whose users type ``prefix``."""
        return texts.help_text(prefix, self.max_n)

    def styles_text(self) -> str:
        """Return the style list."""
        return texts.styles_text(self.styles())

    # -------------------------------------------------------------------- jobs

    def _check_bounds(self, command: Generate, ctx: ChatContext) -> None:
        """Raise ChatOpsError when the job would take the user or channel over a bound."""
        b = self.bounds
        mine = [o for o in self._running.values() if o.user_key == ctx.user_key]
        here = [o for o in self._running.values() if o.channel_key == ctx.channel_key]
        if len(mine) >= b.max_jobs_per_user:
            raise ChatOpsError(f"you already have {len(mine)} jobs running (the limit is {b.max_jobs_per_user}).")
        if len(here) >= b.max_jobs_per_channel:
            raise ChatOpsError(f"this channel has {len(here)} jobs running (the limit is {b.max_jobs_per_channel}).")
        checks = (("you have", mine, b.max_n_per_user), ("this channel has", here, b.max_n_per_channel))
        for who, owners, limit in checks:
            busy = sum(o.n for o in owners)
            if busy + command.n > limit:
                raise ChatOpsError(
                    f"{who} {busy} samples in running jobs and the limit is {limit}: "
                    f"ask for at most {max(limit - busy, 0)}, or wait for a job to end."
                )

    async def start(self, command: Generate, ctx: ChatContext) -> JobRecord:
        """Start a job within the bounds; the caller must :meth:`release` it when it ends.

        Raises:
            ChatOpsError: A bound is reached, or the job service refused the request.
        """
        self._check_bounds(command, ctx)
        owner = _Owner(ctx.user_key, ctx.channel_key, command.n)
        placeholder = f"pending:{id(owner)}"
        self._running[placeholder] = owner  # reserve before awaiting, so concurrent requests see it
        try:
            request = JobRequest(style=command.style, n=command.n, formats=[command.format])
            record = await self.backend.start(request)
        except JobServiceError as exc:
            raise ChatOpsError(str(exc)) from None
        finally:
            del self._running[placeholder]
        self._running[record.id] = owner
        self._owners[record.id] = owner
        while len(self._owners) > MAX_KNOWN_JOBS:
            self._owners.popitem(last=False)
        logger.info(
            "chat job %s started by %s in %s: %s x %d",
            record.id,
            ctx.user_key,
            ctx.channel_key,
            command.style,
            command.n,
        )
        return record

    def release(self, job_id: str) -> None:
        """Stop counting a job against its user's and channel's bounds."""
        self._running.pop(job_id, None)

    def running_jobs(self) -> int:
        """Return how many chat jobs are counted as running."""
        return len(self._running)

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

    async def status(self, job_id: str) -> str:
        """Return a job's status in words."""
        record = await self.record(job_id)
        fmt = record.request.formats[0]
        return texts.status_text(record.id, record.status, record.progress, record.summary, fmt)

    async def cancel(self, job_id: str, ctx: ChatContext) -> str:
        """Cancel a job started from chat by this user or in this channel."""
        owner = self._owners.get(job_id)
        if owner is None:
            await self.record(job_id)  # "no such job" first, when that is the problem
            raise ChatOpsError(f"job `{job_id}` was not started from chat here, so it cannot be cancelled from chat.")
        if ctx.user_key != owner.user_key and ctx.channel_key != owner.channel_key:
            raise ChatOpsError(f"job `{job_id}` was started by someone else in another channel.")
        try:
            record = await self.backend.cancel(job_id)
        except JobNotFoundError:
            raise ChatOpsError(f"there is no job `{job_id}`.") from None
        except JobServiceError as exc:
            raise ChatOpsError(str(exc)) from None
        return f"Cancelling job `{record.id}`: samples in flight finish and are kept."

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
        """Return the HTTP address of a job's data set (a path when no public URL is set)."""
        return f"{self.public_url}/v1/jobs/{job_id}/dataset?format={fmt}"

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
