"""Batch mode: gather the LLM calls of a job's concurrent samples into OpenAI Batch API submissions.

A job in batch mode has one :class:`BatchDispatcher`. Each stage of the loop (``generate``,
``judge``, ``rewrite``) queues its calls; a stage's queue is submitted as one batch when it holds
``max_requests`` calls or ``window_s`` after its first call (the samples in flight reach a stage
at about the same time, so one batch per stage and wave). Each call waits for its batch; a poller
per batch reads the answers when it completes.

Durable across restarts: every submission is recorded in a :class:`BatchLedger` (the job store's
``batches`` table) with its job, stage, batch id and input file id. A resumed job (same job id)
first *adopts* its recorded batches: it reads their custom ids back from the input files, and a
call whose custom id (its call-cache key) is in one waits for that batch instead of being sent
again; answers of batches that completed while nothing ran are read at once. A process killed
between ``batches.create`` and the ledger's write leaves a batch nobody recorded: the resumed job
also lists the provider's unfinished batches whose metadata names it, and records and adopts those.

Stragglers: a batch not finished ``deadline_s`` after its submission is cancelled and its calls
are made live (:meth:`BatchDispatcher.call` returns None: the caller calls the endpoint), as are
calls of a batch that failed or expired. A request the provider answered with an error raises
:class:`BatchRequestError` (like a live call's error, it fails that sample, not the job).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import BaseModel

from agents.batch_api import FINAL_STATUSES, MAX_REQUESTS, BatchClient

logger = logging.getLogger(__name__)

Body = dict[str, Any]
UNRECORDED_LOOKBACK_S = 3_600.0  # how far past a batch deadline a resumed job looks for unrecorded batches


class BatchRequestError(RuntimeError):
    """The provider answered one request of a batch with an error."""


@dataclass(frozen=True)
class BatchOptions:
    """How a job batches its calls."""

    window_s: float = 2.0  # after a stage's first queued call, wait this long for others
    max_requests: int = MAX_REQUESTS
    poll_s: float = 30.0
    deadline_s: float = 86_400.0  # then cancelled, its calls made live

    def __post_init__(self) -> None:
        if self.window_s < 0 or self.poll_s <= 0 or self.deadline_s <= 0 or not 1 <= self.max_requests <= MAX_REQUESTS:
            raise ValueError(f"bad batch options: {self}")


@dataclass(frozen=True)
class LedgerEntry:
    """One recorded submission."""

    batch_id: str
    stage: str
    input_file_id: str
    submitted: float  # unix time
    requests: int
    status: str


class BatchLedger(Protocol):
    """Where a job's submissions are recorded (the job store implements it)."""

    def record(self, job_id: str, entry: LedgerEntry) -> None:
        """Record a new submission of ``job_id``."""
        ...

    def update(self, batch_id: str, status: str) -> None:
        """Record a submission's new status."""
        ...

    def open_batches(self, job_id: str) -> list[LedgerEntry]:
        """Return the submissions of ``job_id`` whose answers may still be read (not failed/expired/cancelled)."""
        ...

    def all_batches(self, job_id: str) -> list[LedgerEntry]:
        """Return every recorded submission of ``job_id``, closed ones included."""
        ...


class StageStats(BaseModel):
    """Progress of one stage in batch mode."""

    requests: int = 0  # calls sent in batches (adopted ones included)
    answered: int = 0
    batches: int = 0
    open_batches: int = 0
    live_fallbacks: int = 0  # calls made live: batch past its deadline, failed or expired
    errors: int = 0  # requests the provider answered with an error


@dataclass
class _Submitted:
    entry: LedgerEntry
    waiting: dict[str, asyncio.Future[Body | None]] = field(default_factory=dict)


class BatchDispatcher:
    """Queue a job's calls per stage, submit them as batches, hand each call its answer."""

    def __init__(
        self, client: BatchClient, job_id: str, options: BatchOptions | None = None, ledger: BatchLedger | None = None
    ) -> None:
        """Bind the dispatcher to one job (nothing is sent until the first call)."""
        self.client, self.job_id = client, job_id
        self.options, self.ledger = options or BatchOptions(), ledger
        self._queued: dict[str, dict[str, tuple[Body, asyncio.Future[Body | None]]]] = {}
        self._timers: dict[str, asyncio.Task[None]] = {}
        self._submitted: dict[str, _Submitted] = {}
        self._batch_of: dict[str, str] = {}  # custom id -> batch id, for calls already submitted
        self._ready: dict[str, Body | BatchRequestError] = {}  # answers nobody waited for yet
        self._tasks: set[asyncio.Task[None]] = set()
        self._stats: dict[str, StageStats] = {}

    # ------------------------------------------------------------------ calls

    async def call(self, stage: str, custom_id: str, body: Body) -> Body | None:
        """Return the chat.completion body answering ``body``, or None: make this call live."""
        if custom_id in self._ready:
            return self._take(custom_id)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Body | None] = loop.create_future()
        batch_id = self._batch_of.get(custom_id)
        if batch_id is not None and batch_id in self._submitted:  # submitted before a restart
            self._submitted[batch_id].waiting[custom_id] = future
        else:
            queue = self._queued.setdefault(stage, {})
            queue[custom_id] = (body, future)
            self._stage(stage).requests += 1
            if len(queue) >= self.options.max_requests:
                self._spawn(self._submit(stage))
            elif stage not in self._timers:
                self._timers[stage] = self._spawn(self._submit_later(stage))
        answer = await future
        if answer is None:
            self._stage(stage).live_fallbacks += 1
        return answer

    def _take(self, custom_id: str) -> Body:
        answer = self._ready.pop(custom_id)
        if isinstance(answer, BatchRequestError):
            raise answer
        return answer

    def _stage(self, stage: str) -> StageStats:
        return self._stats.setdefault(stage, StageStats())

    def _spawn(self, work: Any) -> asyncio.Task[None]:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _submit_later(self, stage: str) -> None:
        await asyncio.sleep(self.options.window_s)
        await self._submit(stage)

    async def _submit(self, stage: str) -> None:
        """Submit the stage's queued calls as one batch (on failure, they are made live)."""
        timer = self._timers.pop(stage, None)
        if timer is not None and timer is not asyncio.current_task():
            timer.cancel()
        queue = self._queued.pop(stage, {})
        if not queue:
            return
        lines = [{"custom_id": custom_id, "body": body} for custom_id, (body, _) in queue.items()]
        try:
            batch_id, file_id = await self.client.submit(lines, {"job": self.job_id, "stage": stage})
        except Exception as exc:  # the endpoint has no Batch API, or refused the file: go live
            logger.warning("batch submission of %d %s calls failed, calling live: %s", len(lines), stage, exc)
            for _, future in queue.values():
                _settle(future, None)
            return
        entry = LedgerEntry(batch_id, stage, file_id, time.time(), len(lines), "validating")
        if self.ledger is not None:
            await asyncio.to_thread(self.ledger.record, self.job_id, entry)
        submitted = self._submitted[batch_id] = _Submitted(entry, {cid: fut for cid, (_, fut) in queue.items()})
        self._batch_of.update(dict.fromkeys(queue, batch_id))
        self._stage(stage).batches += 1
        self._spawn(self._poll(submitted))

    # --------------------------------------------------------------- restarts

    async def resume(self) -> None:
        """Adopt the batches this job submitted before a restart (see the module docstring)."""
        if self.ledger is None:
            return
        recorded = await asyncio.to_thread(self.ledger.open_batches, self.job_id)
        unrecorded = await self._unrecorded_batches()
        for entry in recorded + unrecorded:
            try:
                ids = await self.client.custom_ids(entry.input_file_id)
            except Exception as exc:  # its input file is gone: its calls will be submitted again
                logger.warning("cannot adopt batch %s: %s", entry.batch_id, exc)
                continue
            if entry in unrecorded:
                entry = dataclasses.replace(entry, requests=len(ids))
                await asyncio.to_thread(self.ledger.record, self.job_id, entry)
                logger.info("adopted batch %s of job %s: submitted, never recorded", entry.batch_id, self.job_id)
            submitted = self._submitted[entry.batch_id] = _Submitted(entry)
            self._batch_of.update(dict.fromkeys(ids, entry.batch_id))
            stats = self._stage(entry.stage)
            stats.requests += len(ids)
            stats.batches += 1
            self._spawn(self._poll(submitted))

    async def _unrecorded_batches(self) -> list[LedgerEntry]:
        """Return the provider's unfinished or completed batches of this job that the ledger lacks, oldest first."""
        assert self.ledger is not None
        known = {entry.batch_id for entry in await asyncio.to_thread(self.ledger.all_batches, self.job_id)}
        since = time.time() - self.options.deadline_s - UNRECORDED_LOOKBACK_S
        try:
            listed = await self.client.job_batches(self.job_id, since=since)
        except Exception as exc:  # an endpoint that cannot list batches: only the recorded ones are adopted
            logger.info("cannot list the provider's batches of job %s: %s", self.job_id, exc)
            return []
        found = []
        for batch in reversed(listed):  # oldest first, like the ledger's
            if batch.id in known:
                continue
            stage = str((batch.metadata or {}).get("stage", "calls"))
            found.append(LedgerEntry(batch.id, stage, batch.input_file_id, float(batch.created_at), 0, batch.status))
        return found

    # ---------------------------------------------------------------- polling

    async def _poll(self, submitted: _Submitted) -> None:
        """Wait for the batch to finish (or its deadline), then hand out its answers."""
        entry, stats = submitted.entry, self._stage(submitted.entry.stage)
        stats.open_batches += 1
        try:
            while True:
                batch = await self.client.retrieve(entry.batch_id)
                if batch.status in FINAL_STATUSES:
                    break
                if time.time() - entry.submitted > self.options.deadline_s:
                    logger.warning("batch %s passed its deadline: cancelled, its calls made live", entry.batch_id)
                    with contextlib.suppress(Exception):
                        await self.client.cancel(entry.batch_id)
                    batch = batch.model_copy(update={"status": "cancelled"})
                    break
                await asyncio.sleep(self.options.poll_s)
            answers = await self.client.answers(batch) if batch.status == "completed" else []
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # polling failed after the SDK's retries: go live for what is waiting
            logger.warning("polling batch %s failed, calling live: %s", entry.batch_id, exc)
            batch, answers = None, []
        finally:
            stats.open_batches -= 1
        status = batch.status if batch is not None else "failed"
        if self.ledger is not None:
            await asyncio.to_thread(self.ledger.update, entry.batch_id, status)
        self._deliver(submitted, answers, stats)

    def _deliver(self, submitted: _Submitted, answers: list[Any], stats: StageStats) -> None:
        """Resolve every waiting call: its answer, its error, or None (make it live)."""
        for answer in answers:
            result: Body | BatchRequestError
            if answer.body is not None:
                stats.answered += 1
                result = answer.body
            else:
                stats.errors += 1
                result = BatchRequestError(f"the batch answered this request with an error: {answer.error}")
            future = submitted.waiting.pop(answer.custom_id, None)
            if future is None:
                self._ready[answer.custom_id] = result  # a resumed sample will ask for it
            else:
                _settle(future, result)
        for future in submitted.waiting.values():  # not answered: make them live
            _settle(future, None)
        submitted.waiting.clear()
        for custom_id in [cid for cid, bid in self._batch_of.items() if bid == submitted.entry.batch_id]:
            del self._batch_of[custom_id]
        self._submitted.pop(submitted.entry.batch_id, None)

    # ------------------------------------------------------------------ state

    def stats(self) -> dict[str, StageStats]:
        """Progress per stage (copies)."""
        return {stage: stats.model_copy() for stage, stats in sorted(self._stats.items())}

    async def close(self) -> None:
        """Stop timers and pollers (the provider keeps running what was submitted; a resumed job adopts it)."""
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for queue in self._queued.values():
            for _, future in queue.values():
                future.cancel()
        self._queued.clear()
        await self.client.close()


def _settle(future: asyncio.Future[Body | None], result: Body | BatchRequestError | None) -> None:
    """Resolve a waiting call once: with its answer, its error, or None (make it live)."""
    if future.done():
        return
    if isinstance(result, BatchRequestError):
        future.set_exception(result)
    else:
        future.set_result(result)
