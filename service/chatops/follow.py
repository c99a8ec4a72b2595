"""Follow one chat job: keep one progress message updated, then post the file and the summary.

Platform-neutral: an adapter gives a :class:`ChatOutput` that posts, updates, replies in the
thread and uploads files on its platform.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from graph.datasets.export import ExportFormat
from service.chatops import texts
from service.chatops.service import ChatOpsError, ChatOpsService
from service.jobs.models import JobUpdate

logger = logging.getLogger(__name__)

MAX_PROGRESS_EDITS = 2000


class ChatOutputError(Exception):
    """The chat platform refused a call; the message is safe to show (no secrets)."""


class ChatOutput(Protocol):
    """Where a job's messages go: one progress message and its thread."""

    async def post(self, text: str) -> None:
        """Post the progress message (it anchors the thread)."""
        ...

    async def update(self, text: str) -> None:
        """Replace the progress message's text."""
        ...

    async def reply(self, text: str) -> None:
        """Post a message in the progress message's thread."""
        ...

    async def upload(self, filename: str, content: bytes, comment: str) -> None:
        """Upload a file into the thread."""
        ...


@dataclass
class _Latest:
    update: JobUpdate | None = None
    done: bool = False
    changed: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class JobFollower:
    """Render a job's progress into one message, at most once per ``interval_s``, then deliver it."""

    service: ChatOpsService
    job_id: str
    style: str
    target: int
    fmt: ExportFormat
    output: ChatOutput
    interval_s: float = 3.0
    on_unreachable: Callable[[str], Awaitable[None]] | None = None
    edits: int = 0
    _last_edit: float = 0.0

    async def run(self) -> None:
        """Follow the job to its end; always release its bounds.

        When the progress message cannot be posted (e.g. the bot is not in the channel),
        ``on_unreachable`` is told why and the job is only waited for, silently.
        """
        try:
            try:
                await self.output.post(self._progress_line(None))
                self._last_edit = time.monotonic()
            except ChatOutputError as exc:
                if self.on_unreachable is not None:
                    await self.on_unreachable(str(exc))
                await self._wait_for_end()
                return
            await self._follow()
            await self._deliver()
        except asyncio.CancelledError:
            raise
        except (ChatOutputError, ChatOpsError) as exc:
            logger.warning("chat job %s: %s", self.job_id, exc)
        except Exception:
            logger.exception("chat job %s: following failed", self.job_id)
        finally:
            self.service.release(self.job_id)

    def _progress_line(self, update: JobUpdate | None) -> str:
        """Return the progress text for the latest update (or the start)."""
        if update is None:
            return texts.started_text(self.job_id, self.style, self.target, self.fmt)
        return texts.progress_text(self.job_id, self.style, update.progress, update.status)

    async def _pump(self, latest: _Latest) -> None:
        """Read the job's updates into ``latest`` until the job ends."""
        try:
            async for update in self.service.updates(self.job_id):
                latest.update = update
                latest.changed.set()
                if update.kind == "end":
                    break
        finally:
            latest.done = True
            latest.changed.set()

    async def _wait_for_end(self) -> None:
        """Read the job's updates without showing them, until it ends."""
        await self._pump(_Latest())

    async def _follow(self) -> None:
        """Edit the progress message as updates arrive, no more often than every ``interval_s``."""
        latest = _Latest()
        pump = asyncio.create_task(self._pump(latest))
        try:
            while True:
                await latest.changed.wait()
                if not latest.done:
                    await self._wait_interval()  # updates arriving meanwhile are folded into one edit
                latest.changed.clear()
                if latest.done:
                    break
                if self.edits < MAX_PROGRESS_EDITS:
                    await self._edit(self._progress_line(latest.update))
        finally:
            pump.cancel()  # a no-op once the job ended
            (outcome,) = await asyncio.gather(pump, return_exceptions=True)
            if isinstance(outcome, Exception):
                logger.warning("chat job %s: progress stream failed: %s", self.job_id, outcome)

    async def _wait_interval(self) -> None:
        """Sleep until ``interval_s`` has passed since the progress message was last written."""
        wait = self._last_edit + self.interval_s - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)

    async def _edit(self, text: str) -> None:
        """Update the progress message; a failed edit is logged, never fatal."""
        await self._wait_interval()
        self._last_edit = time.monotonic()
        self.edits += 1
        try:
            await self.output.update(text)
        except ChatOutputError as exc:
            logger.warning("chat job %s: progress update failed: %s", self.job_id, exc)

    async def _deliver(self) -> None:
        """Show the final counters, upload the data set into the thread, and post the summary."""
        record = await self.service.record(self.job_id)
        await self._edit(texts.progress_text(self.job_id, self.style, record.progress, record.status))
        content, count = await self.service.dataset(self.job_id, self.fmt)
        if count:
            filename = f"{self.style}-{self.job_id}-{self.fmt}.jsonl"
            comment = f"{count} {self.style} samples ({self.fmt}), job `{self.job_id}`"
            try:
                await self.output.upload(filename, content, comment)
            except ChatOutputError as exc:
                url = self.service.download_url(self.job_id, self.fmt)
                await self.output.reply(texts.upload_failed_text(self.job_id, url, str(exc)))
        else:
            await self.output.reply(f"Job `{self.job_id}` accepted no samples, so there is no file to upload.")
        if record.summary is not None:
            await self.output.reply(texts.summary_text(record.summary, self.fmt))
        else:
            await self.output.reply(f"Job `{self.job_id}` ended: {record.status}. {record.error}".strip())
