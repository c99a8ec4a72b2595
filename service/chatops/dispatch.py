"""Route chat requests to their actions: the one place where commands become answers, jobs and followers.

An adapter turns a platform event into a :class:`ChatRequest` and a
:class:`~service.chatops.follow.ChatOutput` (how to answer there) and calls
:meth:`ChatDispatcher.handle`; it never looks at the command. Job commands (any
:class:`~service.chatops.commands.JobCommand`) are started within the chat bounds and followed
in tracked background tasks; other commands find their action in :data:`ACTIONS`.

At start the dispatcher picks up the jobs still followed before a restart (``resume``): each
platform rebuilds its output from the stored anchor (:meth:`ChatPlatform.restore`), and the
message keeps updating and gets its file.

Retried platform deliveries run once (:meth:`ChatDispatcher.first_delivery`): a bounded set in
memory answers at once (two copies arriving together), and the ``chat_deliveries`` table of
the chat job store answers across a restart (a platform retries for hours: Feishu up to ~7 h).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol

from service.chatops.commands import Cancel, ChatCommand, Help, JobCommand, Report, SampleNow, Status, Styles
from service.chatops.dedupe import TTLSet
from service.chatops.errors import ChatOpsError, ChatOutputError
from service.chatops.follow import ChatOutput, JobFollower, answer_safely, deliver_report
from service.chatops.grammar import CommandError
from service.chatops.service import ChatContext, ChatOpsService, describe_error
from service.chatops.store import Anchor, ChatJob
from service.chatops.views import view_of

logger = logging.getLogger(__name__)

MAX_BACKGROUND_TASKS = 256
MAX_RESUMED = 1000
DELIVERY_TTL_S = 8 * 3600.0  # Feishu retries 15 s, 5 min, 1 h and 6 h after a failed push


@dataclass(frozen=True)
class ChatRequest:
    """One command typed in a chat: who and where, the text, and how users address the bot there."""

    context: ChatContext
    text: str
    prefix: str
    delivery: str | None = None  # the platform's delivery id, marked handled once answered

    @property
    def delivery_key(self) -> str | None:
        """Return the delivery's key across platforms, or None when it has no id."""
        return delivery_key(self.context.platform, self.delivery) if self.delivery else None


def delivery_key(platform: str, delivery_id: str) -> str:
    """Return the key a platform's delivery id is remembered by."""
    return f"{platform}:{delivery_id}"


class ChatPlatform(Protocol):
    """What the dispatcher needs from an adapter beyond a request's output: rebuilding outputs."""

    name: str
    progress_interval_s: float

    def restore(self, anchor: Anchor) -> ChatOutput:
        """Return the output an anchor was taken from (after a restart)."""
        ...

    async def close(self) -> None:
        """Close the platform's clients (at shutdown)."""
        ...


Action = Callable[["ChatDispatcher", Any, ChatRequest, ChatOutput], Awaitable[None]]


class ChatDispatcher:
    """Parse, route, answer, and follow jobs in bounded background tasks."""

    def __init__(self, max_tasks: int = MAX_BACKGROUND_TASKS) -> None:
        """Start with no platform and no service (requests are answered "still starting" until :meth:`attach`)."""
        self.platforms: dict[str, ChatPlatform] = {}
        self.service: ChatOpsService | None = None
        self.seen = TTLSet(ttl_s=3600.0, max_size=10_000)
        self.process_id = uuid.uuid4().hex  # names this process's delivery claims
        self.tasks: set[asyncio.Task[None]] = set()
        self.max_tasks = max_tasks

    def add_platform(self, platform: ChatPlatform) -> None:
        """Register an adapter (so its followers can be resumed)."""
        self.platforms[platform.name] = platform

    async def first_delivery(self, platform: str, delivery_id: str) -> bool:
        """Return whether a delivery is new: False for a retry of one this or an earlier process answered.

        Memory first (no ``await`` before it, so two copies arriving together cannot both pass),
        then the durable claim. A delivery a killed process claimed but never answered is new
        again. Before the service is attached (start-up) and when the store fails, memory alone.
        """
        key = delivery_key(platform, delivery_id)
        if not self.seen.add(key):
            return False
        if self.service is None:
            return True
        store = self.service.chat_jobs
        try:
            return await store.run(store.claim_delivery, key, self.process_id, DELIVERY_TTL_S)
        except sqlite3.Error as exc:
            logger.warning("chat: delivery %s not remembered across restarts: %s", key, exc)
            return True

    # ---------------------------------------------------------------- requests

    async def handle(self, request: ChatRequest, output: ChatOutput) -> None:
        """Run one request: answer it through ``output``; never raises (errors are answered in plain words)."""
        try:
            if self.service is None:
                raise ChatOpsError("the service is still starting; try again in a few seconds.")
            command = self.service.parse(request.text)
            if isinstance(command, JobCommand):
                await self._start_job(self.service, command, request, output)
            else:
                await _action(command)(self, command, request, output)
        except Exception as exc:
            if not isinstance(exc, ChatOpsError | CommandError | ChatOutputError):
                logger.exception("chat: %s request failed", request.context.platform)
            await answer_safely(output, describe_error(exc), private=True)
        await self._handled(request)

    async def _handled(self, request: ChatRequest) -> None:
        """Mark an answered request's delivery handled (its retries are dropped, also after a restart)."""
        key = request.delivery_key
        if key is None or self.service is None:
            return
        store = self.service.chat_jobs
        try:
            await store.run(store.delivery_handled, key)
        except sqlite3.Error as exc:
            logger.warning("chat: delivery %s not marked handled: %s", key, exc)

    async def _start_job(
        self, service: ChatOpsService, command: JobCommand, request: ChatRequest, output: ChatOutput
    ) -> None:
        """Start a job within the bounds, answer with its id, and follow it in the background."""
        self._check_capacity()
        job = await service.start(command, request.context, output.anchor(), request.delivery_key)
        await answer_safely(output, _started(job), private=False)
        interval = self.platforms[job.platform].progress_interval_s if job.platform in self.platforms else 3.0
        try:
            self.spawn(JobFollower(service, job, output, interval_s=interval).run())
        except ChatOpsError:
            service.release(job.job_id)  # the job runs on; it is followed again after the next restart
            raise

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run work in a tracked background task (bounded in number)."""
        if len(self.tasks) >= self.max_tasks:
            work.close()
            raise ChatOpsError("I am busy with too many requests; try again in a minute.")
        task = asyncio.create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def _check_capacity(self) -> None:
        """Refuse a job before it starts when no follower could be spawned for it."""
        if len(self.tasks) >= self.max_tasks:
            raise ChatOpsError("I am busy with too many requests; try again in a minute.")

    # ------------------------------------------------------------ start, stop

    async def attach(self, service: ChatOpsService) -> int:
        """Start serving with ``service`` and follow again the jobs a previous process followed; return how many."""
        self.service = service
        resumed = 0
        for job in await service.chat_jobs.run(service.chat_jobs.following, MAX_RESUMED):
            platform = self.platforms.get(job.platform)
            if platform is None:
                continue  # that platform is not configured any more: leave the record for a later start
            service.adopt(job)
            output = platform.restore(job.anchor)
            follower = JobFollower(service, job, output, interval_s=platform.progress_interval_s, resumed=job.posted)
            try:
                self.spawn(follower.run())
            except ChatOpsError:
                service.release(job.job_id)
                break
            resumed += 1
        return resumed

    async def close(self) -> None:
        """Cancel the followers and wait for them (they are resumed at the next start); close the platforms."""
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for platform in self.platforms.values():
            try:
                await platform.close()
            except Exception:
                logger.exception("chat: closing %s failed", platform.name)


def _started(job: ChatJob) -> str:
    return view_of(job).started(job)


# ----------------------------------------------------------------- actions


async def _help(dispatcher: ChatDispatcher, command: Help, request: ChatRequest, output: ChatOutput) -> None:
    assert dispatcher.service is not None
    await output.answer(dispatcher.service.help(request.prefix), private=True)


async def _styles(dispatcher: ChatDispatcher, command: Styles, request: ChatRequest, output: ChatOutput) -> None:
    assert dispatcher.service is not None
    await output.answer(dispatcher.service.styles_text(), private=True)


async def _status(dispatcher: ChatDispatcher, command: Status, request: ChatRequest, output: ChatOutput) -> None:
    assert dispatcher.service is not None
    await output.answer(await dispatcher.service.status(command.job_id, request.context), private=True)


async def _cancel(dispatcher: ChatDispatcher, command: Cancel, request: ChatRequest, output: ChatOutput) -> None:
    assert dispatcher.service is not None
    await output.answer(await dispatcher.service.cancel(command.job_id, request.context), private=True)


async def _sample(dispatcher: ChatDispatcher, command: SampleNow, request: ChatRequest, output: ChatOutput) -> None:
    """Say a sample is coming, then make it in the background and post it where the request was made."""
    service = dispatcher.service
    assert service is not None

    async def make() -> None:
        try:
            text = await service.sample(command.style)
        except Exception as exc:
            if not isinstance(exc, ChatOpsError):
                logger.exception("chat: sample failed")
            text = describe_error(exc)
        try:
            await output.reply(text)
        except ChatOutputError as exc:
            logger.warning("chat: cannot post a sample: %s", exc)
            await answer_safely(output, text, private=True)

    await output.answer(f"Making one {command.style} sample; it will appear here.", private=True)
    dispatcher.spawn(make())


async def _report(dispatcher: ChatDispatcher, command: Report, request: ChatRequest, output: ChatOutput) -> None:
    """Check the version, say the report is coming, then build it in the background and deliver report.html."""
    service = dispatcher.service
    assert service is not None
    manifest = await service.resolve(command.ref)  # an unknown version is answered now, listing what exists

    async def make() -> None:
        try:
            report = await service.report(manifest.ref)
        except Exception as exc:
            if not isinstance(exc, ChatOpsError):
                logger.exception("chat: report failed")
            await answer_safely(output, describe_error(exc), private=True)
            return
        await deliver_report(service, output, report)

    await output.answer(f"Building the QC report of {manifest.ref}; it will appear here.", private=True)
    dispatcher.spawn(make())


ACTIONS: dict[type[ChatCommand], Action] = {
    Help: _help,
    Styles: _styles,
    Status: _status,
    Cancel: _cancel,
    SampleNow: _sample,
    Report: _report,
}


def _action(command: ChatCommand) -> Action:
    """Return the action of a (non-job) command."""
    action = ACTIONS.get(type(command))
    if action is None:
        raise ChatOpsError(f"{type(command).__name__} has no action yet.")
    return action
