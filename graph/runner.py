"""Run a dataset job: many sample graphs concurrently until n are accepted or a budget runs out."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

from agents.admission import AdmissionStats
from agents.call_scope import call_scope, derive_seed
from agents.job_calls import job_call_slots, work_in_flight
from agents.schemas import Sample, TokenUsage, utc_now
from graph.builder import build_graph, recursion_limit
from graph.faults import is_storage_full
from graph.job_lineage import prompt_hashes, sample_from_state
from graph.job_summary import summarise_job
from graph.judge_stats import JudgeStats
from graph.nodes import LoopDeps
from graph.progress import Budget, JobEvent, JobProgress, JobSummary, StopReason, answer_failures, reason_code
from graph.replay import PlanJournal
from graph.spares import SURPLUS, Seats, acceptance_so_far, should_start_another
from graph.state import SampleState, merge_usage
from graph.work import TopicSource, WorkItem, WorkSource
from graph.worker_threads import ensure_worker_threads

logger = logging.getLogger(__name__)

EventSink = Callable[[JobEvent], Awaitable[None]]
SampleInvoke = Callable[[SampleState, int], Awaitable[dict[str, Any]]]
"""Run one sample's graph from its initial state under its call-scope seed; return the final state."""
SampleExecutor = Callable[[LoopDeps], SampleInvoke]
"""Where a job's samples run: given the job's dependencies, the function that runs one sample."""
ATTEMPTS_PER_SAMPLE = 4
MAX_CONSECUTIVE_ERRORS = 5


async def _ignore(_: JobEvent) -> None:
    return None


class JobRunner:
    """Run one job with bounded concurrency; emit an event per finished sample.

    ``concurrency`` bounds the job's LLM calls in flight; :func:`agents.job_calls.work_in_flight`
    samples run at once (half as many again), so the calls go on while some samples are between calls
    (with an ``executor``, whose workers make the calls, ``concurrency`` samples).

    The runner starts a sample while the samples in flight are unlikely to bring the job to ``n``
    at its acceptance rate so far: near the end it runs a few spares instead of redoing each
    rejected sample in a serial tail. The first ``n`` accepted take the job's seats; spares left
    over are rejected as ``surplus`` (graph/spares.py). So a job ends with exactly ``n`` accepted
    samples unless a budget, the deadline, cancellation, repeated errors or an exhausted work
    source stop it. Each sample starts from an item of the work ``source`` (by default topics
    from ``deps.planner``, or ``topic`` for every sample).

    A resumed job passes every sample its earlier runs finished (``previous``, accepted and
    rejected) and the time they took (``elapsed_s``): the counters start from them, so accepted
    samples count toward ``n`` and the budgets cover the whole job.

    Sample number ``k`` runs under a seed derived from the job's seed (``deps.seed``, else the job
    id), which keys its calls in the call cache; with a cache, its plan is recorded and replayed
    (graph/replay.py) and a resumed job skips the numbers it already finished.

    ``executor`` says where each sample's graph runs (default: in this process; Ray worker actors:
    graph/executors/ray_samples.py); the runner alone claims numbers, counts and emits the samples.
    """

    def __init__(
        self,
        deps: LoopDeps,
        n: int,
        *,
        concurrency: int = 4,
        budget: Budget | None = None,
        topic: str | None = None,
        source: WorkSource | None = None,
        previous: list[Sample] | None = None,
        elapsed_s: float = 0.0,
        on_event: EventSink = _ignore,
        executor: SampleExecutor | None = None,
    ) -> None:
        """Prepare a job; nothing runs until :meth:`run`."""
        if n < 1:
            raise ValueError("n must be at least 1")
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.job_id = deps.job_id or uuid.uuid4().hex[:12]
        self.seed = deps.seed if deps.seed is not None else derive_seed("job", self.job_id)
        journal = PlanJournal(deps.cache, deps.pack, self.seed, self.job_id) if deps.cache is not None else None
        self.seats = Seats(n, (sample.id for sample in previous or [] if sample.status == "accepted"))
        deps = replace(deps, job_id=self.job_id, journal=journal, take_seat=self.seats.take)  # memory needs the id
        self._finished_ordinals = journal.finished() if journal is not None else set()
        self._next_ordinal = 0
        self.deps, self.n, self.concurrency = deps, n, concurrency
        live = executor is None and deps.batches is None  # the job's call slots bound these calls only
        self.samples_in_flight = work_in_flight(concurrency) if live else concurrency
        self.source: WorkSource = source or TopicSource(deps.planner, topic)
        self.budget = budget or Budget()
        self.max_attempts = self.budget.max_attempts or ATTEMPTS_PER_SAMPLE * n
        self.on_event = on_event
        self.source.plan_for(self.samples_in_flight)
        deps.planner.use_seed(self.seed)
        deps.planner.size_to(lambda: self.n - len(self.accepted) - self.in_flight)  # brainstorm no more than used
        self.graph = build_graph(deps)
        self.invoke: SampleInvoke = executor(deps) if executor is not None else self._invoke_graph
        self.prompt_hashes = prompt_hashes(deps)  # fixed for the job: computed once, not per sample
        self.accepted: list[Sample] = []
        self.rejected_by_reason: Counter[str] = Counter()
        self.cost_by_reason: defaultdict[str, float] = defaultdict(float)
        self.answer_failures: Counter[str] = Counter()
        self.judge_stats = JudgeStats()
        self.usage: dict[str, TokenUsage] = {}
        self.rewrites = 0
        self.rejected = 0
        self.started = 0
        self.in_flight = 0
        self._partial: dict[str, dict[str, Any]] = {}  # each running sample's state after its last node
        self.consecutive_errors = 0
        self.last_error = ""
        self.stop_reason: StopReason | None = None
        self.exhausted = False
        self._condition = asyncio.Condition()
        self.elapsed_before = elapsed_s
        self._t0 = time.monotonic() - elapsed_s
        admission = deps.models.admission
        self._throttled_before = admission.stats().throttled if admission else 0
        self._restore(previous or [])

    def _restore(self, previous: list[Sample]) -> None:
        """Start the counters from the samples earlier runs of this job finished."""
        for sample in previous:
            self.started += 1
            self._count(sample)
        self.source.restore(previous)

    # ------------------------------------------------------------------ state

    def total_tokens(self) -> int:
        """Return every token spent so far, the topic brainstorms included."""
        return sum(usage.total for usage in self.usage.values()) + self.source.usage.total

    def llm_calls(self) -> int:
        """Return every LLM call made so far."""
        return sum(usage.calls for usage in self.usage.values()) + self.source.usage.calls

    def admission(self) -> AdmissionStats | None:
        """The endpoint's admission now, its 429/503 count since this job started."""
        admission = self.deps.models.admission
        if admission is None:
            return None
        stats = admission.stats()
        return stats.model_copy(update={"throttled": stats.throttled - self._throttled_before})

    def progress(self) -> JobProgress:
        """Return a snapshot of the counters."""
        return JobProgress(
            job_id=self.job_id,
            target=self.n,
            accepted=len(self.accepted),
            rejected=self.rejected,
            in_flight=self.in_flight,
            rewrites=self.rewrites,
            llm_calls=self.llm_calls(),
            tokens=self.total_tokens(),
            elapsed_s=self.elapsed_s(),
            rejected_by_reason=dict(self.rejected_by_reason),
            admission=self.admission(),
            cost_usd=self._cost(self.all_usage()) if self.deps.prices else None,
            batches=self.deps.batches.stats() if self.deps.batches else None,
        )

    def elapsed_s(self) -> float:
        """Seconds the job has run, earlier runs of a resumed job included."""
        return time.monotonic() - self._t0

    def all_usage(self) -> dict[str, TokenUsage]:
        """Usage per role so far, the topic brainstorms included."""
        usage = dict(self.usage)
        if self.source.usage.calls:
            usage["topics"] = self.source.usage
        return usage

    def _cost(self, tokens: dict[str, TokenUsage]) -> float:
        prices, batch = self.deps.prices, self.deps.batches is not None
        return prices.usage_cost(tokens, self.deps.models.names, batch=batch) if prices else 0.0

    def _stop_check(self) -> StopReason | None:
        """Return why no further sample may start, or None."""
        if self.stop_reason:
            return self.stop_reason
        if len(self.accepted) >= self.n:
            return "completed"
        if self.exhausted:
            return "exhausted"
        if self.consecutive_errors >= MAX_CONSECUTIVE_ERRORS:
            return "errors"
        if self.started >= self.max_attempts:
            return "budget_attempts"
        if self.budget.max_tokens is not None and self.total_tokens() >= self.budget.max_tokens:
            return "budget_tokens"
        if self.budget.deadline_s is not None and time.monotonic() - self._t0 >= self.budget.deadline_s:
            return "deadline"
        return None

    async def cancel(self) -> None:
        """Stop starting samples; the ones in flight finish and are kept."""
        async with self._condition:
            self.stop_reason = self.stop_reason or "cancelled"
            self._condition.notify_all()

    # ------------------------------------------------------------------- work

    async def _claim(self) -> int | None:
        """Wait for a free slot; return the next sample's number, or None when the job must stop."""
        async with self._condition:
            while True:
                if self._stop_check():
                    return None
                if self._needs_another():
                    self.in_flight += 1
                    self.started += 1
                    while self._next_ordinal in self._finished_ordinals:
                        self._next_ordinal += 1
                    self._next_ordinal += 1
                    return self._next_ordinal - 1
                await self._condition.wait()

    def _needs_another(self) -> bool:
        """Whether the samples in flight are unlikely to bring the job to n (graph/spares.py)."""
        acceptance = acceptance_so_far(len(self.accepted), self.rejected, sum(self.usage.values(), TokenUsage()))
        return should_start_another(self.in_flight, self.n - len(self.accepted), acceptance)

    async def _next_item(self, sample_id: str) -> WorkItem | None:
        """Ask the source for the sample's work; when it has none left, give the slot back."""
        item = await self.source.next_item(sample_id)
        if item is None:
            async with self._condition:
                self.in_flight -= 1
                self.started -= 1
                self.exhausted = True
                self._condition.notify_all()
            self.source.release(sample_id, None)
        return item

    async def _run_sample(self, sample_id: str, item: WorkItem, ordinal: int) -> Sample:
        """Run one sample's graph and turn its final state into a Sample (errors become rejects)."""
        started_at = utc_now()
        initial: SampleState = {
            **item.fields,
            "sample_id": sample_id,
            "ordinal": ordinal,
            "rewrites": 0,
            "attempts": [],
            "usage": {},
        }
        state: dict[str, Any] = dict(initial)
        try:
            state = await self.invoke(initial, derive_seed(self.seed, ordinal))
            if self.deps.journal is not None:
                await self.deps.journal.finish(ordinal)
            self.consecutive_errors = 0
        except asyncio.CancelledError:
            if not self.seats.cancelled_as_spare(sample_id):
                raise
            state = {**self._partial.get(sample_id, initial), "status": "rejected", "reject_reason": SURPLUS}
        except Exception as exc:  # one bad sample must never crash the job; a full disk stops it
            if is_storage_full(exc):
                raise
            state = self._failed(sample_id, initial, exc)
        finally:
            self._partial.pop(sample_id, None)
        return sample_from_state(
            self.deps, self.job_id, self.prompt_hashes, sample_id, state, started_at, item.parent_id
        )

    async def _invoke_graph(self, initial: SampleState, scope_seed: int) -> dict[str, Any]:
        """Run the sample's graph in this process, keeping its state after each node (for a cancelled spare)."""
        state: dict[str, Any] = dict(initial)
        config = {"recursion_limit": recursion_limit(self.deps)}
        with call_scope(scope_seed):
            async for state in self.graph.astream(initial, config=config, stream_mode="values"):
                self._partial[initial["sample_id"]] = state
        return state

    def _failed(self, sample_id: str, initial: SampleState, exc: Exception) -> dict[str, Any]:
        """Count a sample that raised and return its final state: rejected with the error."""
        self.consecutive_errors += 1
        self.last_error = f"{type(exc).__name__}: {exc}"
        logger.warning("sample %s failed: %s", sample_id, self.last_error)
        return {**initial, "status": "rejected", "reject_reason": f"error: {self.last_error}"}

    def _count(self, sample: Sample) -> None:
        """Add a finished sample to the counters."""
        self.usage = merge_usage(self.usage, sample.lineage.tokens)
        self.rewrites += sample.rewrites
        self.answer_failures.update(answer_failures(sample))
        self.judge_stats.add(sample)
        if sample.status == "accepted":
            self.accepted.append(sample)
        else:
            self.rejected += 1
            self.rejected_by_reason[reason_code(sample.reject_reason)] += 1
            self.cost_by_reason[reason_code(sample.reject_reason)] += self._cost(sample.lineage.tokens)

    async def _drop(self) -> None:
        """Give back the slot of a sample that ended without a result."""
        async with self._condition:
            self.in_flight -= 1
            self._condition.notify_all()

    async def _record(self, sample: Sample) -> None:
        """Count a finished sample and wake waiting workers."""
        async with self._condition:
            self.in_flight -= 1
            self._count(sample)
            self._condition.notify_all()

    async def _attempt(self, ordinal: int, sample_id: str) -> Sample | None:
        """Run claimed sample number ``ordinal`` from its work item; None: it ended without one (slot given back)."""
        try:
            item = await self._next_item(sample_id)
        except asyncio.CancelledError:
            self.source.release(sample_id, None)
            if not self.seats.cancelled_as_spare(sample_id):
                raise
            await self._drop()  # a spare cancelled before it had work: nothing to record
            return None
        except Exception as exc:  # a failing source fails this sample, like a failing node
            initial: SampleState = {"sample_id": sample_id, "attempts": [], "usage": {}}
            failed = sample_from_state(
                self.deps, self.job_id, self.prompt_hashes, sample_id, self._failed(sample_id, initial, exc), utc_now()
            )
            self.source.release(sample_id, failed)
            return failed
        if item is None:
            return None
        sample: Sample | None = None
        try:
            sample = await self._run_sample(sample_id, item, ordinal)
            return sample
        finally:
            self.source.release(sample_id, sample)

    async def _worker(self) -> None:
        """Start samples until the job must stop."""
        while (ordinal := await self._claim()) is not None:
            sample_id = uuid.uuid4().hex
            attempt = asyncio.create_task(self._attempt(ordinal, sample_id))  # its own task: a seat may cancel it
            self.seats.running(sample_id, attempt)
            try:
                sample = await attempt
            finally:
                self.seats.ended(sample_id)
            if sample is None:
                continue
            await self._record(sample)
            await self.on_event(JobEvent(kind="sample", progress=self.progress(), sample=sample))

    async def run(self) -> JobSummary:
        """Run the job to its end and return the summary.

        A failing event sink (e.g. the job store cannot write), or a sample that finds the disk
        full, stops the whole job: the other samples are cancelled and the exception is raised.
        """
        self._t0 = time.monotonic() - self.elapsed_before
        ensure_worker_threads()  # asyncio's default pool (6 threads on 2 cores) would queue the samples
        await self.on_event(JobEvent(kind="started", progress=self.progress()))
        with job_call_slots(self.concurrency):  # brainstorms share the samples' concurrency
            await self._run_samples()
        summary = await self.summarise()
        await self.on_event(JobEvent(kind="finished", progress=self.progress(), summary=summary))
        return summary

    async def _run_samples(self) -> None:
        """Prepare the work source and run the workers until the job stops."""
        try:
            if self.deps.batches is not None:  # a resumed job adopts the batches it submitted before
                await self.deps.batches.resume()
            await self.deps.memory.aensure_accepted(self.accepted)  # a killed run may not have written them all
            await self.source.prepare()
            async with asyncio.TaskGroup() as group:
                for _ in range(self.samples_in_flight):
                    group.create_task(self._worker())
        except BaseExceptionGroup as failed:
            raise failed.exceptions[0] from None
        finally:
            await self.source.close()
            if self.deps.batches is not None:
                await self.deps.batches.close()
            await self.deps.memory.aflush()  # accepted samples still waiting in memory go to the store

    async def summarise(self) -> JobSummary:
        """Compute the summary, diversity of the accepted set included (graph/job_summary.py)."""
        return await summarise_job(self, self._stop_check() or "completed")
