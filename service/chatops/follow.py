"""Follow one chat job: keep one progress message updated, then deliver the file and the summary.

Platform-neutral: an adapter gives a :class:`ChatOutput` that answers, posts, updates, replies in
the thread and uploads on its platform. The follower is durable: the output's :meth:`anchor`
is stored once the progress message is posted, so after a restart the runtime rebuilds the
output and follows the resumed job in the same message (``resumed=True``).

Delivery is recorded in steps (the progress message posted, the file sent, all done), so a
follower resumed after a restart sends only what is left; a step cut by the kill between the
platform's answer and the record is sent again, at most once more (and not at all on Feishu
within an hour: its replies carry a uuid the platform deduplicates, see ``service.feishu.output``).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass, field
from typing import Protocol

from service.chatops import texts
from service.chatops.errors import ChatOpsError, ChatOutputError, UploadUnsupported
from service.chatops.report import ChatReport
from service.chatops.service import ChatOpsService
from service.chatops.store import Anchor, ChatJob
from service.chatops.views import view_of
from service.jobs.models import JobUpdate

logger = logging.getLogger(__name__)

MAX_PROGRESS_EDITS = 2000
_UNSAFE_FILENAME = re.compile(r"[^\w.-]+")


class ChatOutput(Protocol):
    """Where one conversation's messages go: answers, one progress message and its thread.

    Every method raises :class:`~service.chatops.errors.ChatOutputError` (a safe message) when
    the platform refuses; texts over the platform's size limit are split or shortened by the
    adapter, never dropped.
    """

    async def answer(self, text: str, *, private: bool = False) -> None:
        """Answer the request, privately to the person who asked where the platform can."""
        ...

    async def post(self, text: str) -> None:
        """Post the progress message (it anchors the thread)."""
        ...

    async def update(self, text: str) -> None:
        """Replace the progress message's text."""
        ...

    async def reply(self, text: str) -> None:
        """Post in the progress message's thread (before it exists: where the request was made)."""
        ...

    async def upload(self, filename: str, content: bytes, comment: str) -> None:
        """Upload a file into the thread; raise ``UploadUnsupported`` where the platform cannot."""
        ...

    def anchor(self) -> Anchor:
        """Return where this output writes (with the progress message once posted), to rebuild it later."""
        ...


async def answer_safely(output: ChatOutput, text: str, *, private: bool) -> None:
    """Answer; log (never raise) when the platform refuses."""
    try:
        await output.answer(text, private=private)
    except ChatOutputError as exc:
        logger.warning("chat: cannot answer: %s", exc)


@dataclass
class _Latest:
    update: JobUpdate | None = None
    done: bool = False
    changed: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass
class JobFollower:
    """Render a job's progress into one message, at most once per ``interval_s``, then deliver it."""

    service: ChatOpsService
    job: ChatJob
    output: ChatOutput
    interval_s: float = 3.0
    resumed: bool = False
    edits: int = 0
    _last_edit: float = 0.0

    async def run(self) -> None:
        """Follow the job to its end and deliver; always release its bounds.

        When the progress message cannot be posted (e.g. the bot is not in the chat), the asker
        is told privately and the job is only waited for. Cancelled (at shutdown), the job stays
        recorded as followed, so the next start picks it up again.
        """
        job_id = self.job.job_id
        try:
            if not self.resumed and not await self._post():
                await self._pump(_Latest())
            else:
                await self._follow()
                await self._deliver()
            await self.service.delivered(job_id)
        except asyncio.CancelledError:
            self.service.release(job_id)
            raise
        except (ChatOutputError, ChatOpsError) as exc:
            logger.warning("chat job %s: %s", job_id, exc)
            await self.service.delivered(job_id)
        except Exception:
            logger.exception("chat job %s: following failed", job_id)
            self.service.release(job_id)

    async def _post(self) -> bool:
        """Post the progress message and store its anchor; False (the asker told why) when refused."""
        try:
            await self.output.post(self._progress_line(None))
        except ChatOutputError as exc:
            logger.warning("chat job %s: cannot post progress (%s)", self.job.job_id, exc)
            await answer_safely(self.output, texts.unreachable_text(self.job.job_id, str(exc)), private=True)
            return False
        self._last_edit = time.monotonic()
        await self.service.posted(self.job.job_id, self.output.anchor())
        return True

    def _progress_line(self, update: JobUpdate | None) -> str:
        """Return the progress text for the latest update (or the start)."""
        view = view_of(self.job)
        return view.waiting(self.job) if update is None else view.progress(self.job, update.progress, update.status)

    async def _pump(self, latest: _Latest) -> None:
        """Read the job's updates into ``latest`` until the job ends."""
        try:
            async for update in self.service.updates(self.job.job_id):
                latest.update = update
                latest.changed.set()
                if update.kind == "end":
                    break
        finally:
            latest.done = True
            latest.changed.set()

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
                logger.warning("chat job %s: progress stream failed: %s", self.job.job_id, outcome)

    async def _wait_interval(self) -> None:
        """Sleep until ``interval_s`` has passed since the progress message was last written."""
        wait = self._last_edit + self.interval_s - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)

    async def _edit(self, text: str) -> None:
        """Update the progress message; a failed edit is logged, never fatal."""
        await self._wait_interval()
        self.edits += 1
        try:
            await self.output.update(text)
        except ChatOutputError as exc:
            logger.warning("chat job %s: progress update failed: %s", self.job.job_id, exc)
        finally:  # measured from the end of a call, so edits reach the platform at least interval_s apart
            self._last_edit = time.monotonic()

    async def _deliver(self) -> None:
        """Show the final counters, deliver the data set into the thread (if the kind has one), post the summary."""
        job, view = self.job, view_of(self.job)
        record = await self.service.record(job.job_id)
        await self._edit(view.progress(job, record.progress, record.status))
        if (
            view.delivers_file and not job.file_sent
        ):  # a follower resumed after the file went out sends the summary only
            content, count = await self.service.dataset(job.job_id, job.format)
            if count:
                await self._deliver_file(content, count)
            else:
                await self.output.reply(f"Job `{job.job_id}` accepted no samples, so there is no file to send.")
            await self.service.file_sent(job.job_id)
        if record.summary is not None:
            await self.output.reply(view.summary(job, record.summary, record.version))
        else:
            await self.output.reply(f"Job `{job.job_id}` ended: {record.status}. {record.error}".strip())

    async def _deliver_file(self, content: bytes, count: int) -> None:
        """Upload the file; where the platform cannot take it, give a short-lived download link."""
        job = self.job
        filename = f"{_UNSAFE_FILENAME.sub('_', job.label)}-{job.job_id}-{job.format}.jsonl"
        comment = f"{count} {job.label} samples ({job.format}), job `{job.job_id}`"
        url, ttl = self.service.download_url(job.job_id, job.format), self.service.links.ttl_s
        try:
            await self.output.upload(filename, content, comment)
        except UploadUnsupported:
            await self.output.reply(comment + ". " + texts.download_text(job.job_id, url, ttl))
        except ChatOutputError as exc:
            await self.output.reply(texts.upload_failed_text(job.job_id, url, str(exc), ttl))


async def deliver_report(service: ChatOpsService, output: ChatOutput, report: ChatReport) -> None:
    """Upload a QC report with its headline; where the platform cannot take files, give a short-lived link."""
    url, ttl = service.report_url(report.ref), service.links.ttl_s
    link = f"Open the report (the link works for {texts.duration(ttl)}): {url}"
    try:
        try:
            await output.upload(report.filename, report.html, report.headline)
        except UploadUnsupported:
            await output.reply(f"{report.headline}\n{link}")
        except ChatOutputError as exc:
            await output.reply(f"{report.headline}\nI could not upload the report here ({exc}). {link}")
    except ChatOutputError as exc:
        logger.warning("chat: cannot deliver the report of %s: %s", report.ref, exc)
        await answer_safely(output, f"{report.headline}\n{link}", private=True)
