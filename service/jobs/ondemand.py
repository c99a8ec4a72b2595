"""Make a few samples now (not stored as a job), bounded by a timeout and the on-demand limit."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from agents.prompting import DEFAULT_JUDGE_PROMPT
from agents.schemas import Sample
from graph.nodes import LoopDeps
from graph.progress import JobEvent
from graph.runner import JobRunner
from graph.state import LoopConfig
from service.engine import Engine
from service.jobs.admission import Admission, Claim
from service.jobs.errors import InvalidRequestError, ShuttingDownError
from service.jobs.kinds.generate import check_judge
from service.jobs.models import Limits, SampleBatch, SampleResult
from service.jobs.styles import StyleRegistry

MAX_ON_DEMAND_CONCURRENCY = 4
SAMPLES_POOL = "sample-requests"
SAMPLES_REFUSAL = "{held} sample requests are running (max {limit}); try again shortly"


class OnDemand:
    """The on-demand requests of one job manager (at most ``limits.max_concurrent_sample_requests`` at once)."""

    def __init__(
        self,
        engine: Engine,
        styles: StyleRegistry,
        limits: Limits,
        admission: Admission,
        on_sample: Callable[[Sample], None],
    ) -> None:
        """Keep what a request needs."""
        self.engine, self.styles, self.limits, self.admission = engine, styles, limits, admission
        self.on_sample = on_sample
        self.tasks: set[asyncio.Task[SampleBatch]] = set()
        self.closing = False  # set by the manager at shutdown: no new request is taken

    async def sample(
        self,
        style: str,
        k: int,
        topic: str | None = None,
        timeout: float | None = None,
        *,
        workspace: str = "on-demand",
        judge: str = DEFAULT_JUDGE_PROMPT,
        max_rewrites: int = 2,
    ) -> SampleBatch:
        """Make up to k accepted samples now; on timeout return what finished and say so.

        Raises:
            ShuttingDownError: The service is stopping.
            InvalidRequestError: k is out of range, or the judge prompt is unknown.
        """
        if self.closing:
            raise ShuttingDownError("the service is shutting down; try again after the restart")
        if not 1 <= k <= self.limits.max_samples_k:
            raise InvalidRequestError(f"k must be between 1 and {self.limits.max_samples_k}, got {k}")
        check_judge(judge)
        pack = self.styles.resolve(style)
        ticket = self.admission.acquire(
            {SAMPLES_POOL: Claim(1, self.limits.max_concurrent_sample_requests)},
            refusals={SAMPLES_POOL: SAMPLES_REFUSAL},
        )
        try:
            deps = await asyncio.to_thread(
                self.engine.loop_deps, pack, workspace, judge=judge, config=LoopConfig(max_rewrites=max_rewrites)
            )
        except BaseException:
            ticket.release()
            raise
        seconds = min(timeout or self.limits.sample_timeout_s, self.limits.sample_timeout_s)
        task = asyncio.create_task(run_on_demand(deps, k, topic, seconds, self.on_sample))
        self.tasks.add(task)
        task.add_done_callback(lambda _: ticket.release())
        task.add_done_callback(self.tasks.discard)
        return await task


def to_result(sample: Sample) -> SampleResult:
    """Wrap a sample with its rewrites and token counts."""
    tokens = dict(sample.lineage.tokens)
    return SampleResult(
        sample=sample, rewrites=sample.rewrites, tokens=tokens, total_tokens=sum(u.total for u in tokens.values())
    )


async def run_on_demand(
    deps: LoopDeps, k: int, topic: str | None, timeout_s: float, on_sample: Callable[[Sample], None]
) -> SampleBatch:
    """Run a k-sample job for at most ``timeout_s`` seconds; return every sample that finished."""
    finished: list[Sample] = []

    async def collect(event: JobEvent) -> None:
        if event.kind == "sample" and event.sample is not None:
            finished.append(event.sample)
            on_sample(event.sample)

    runner = JobRunner(deps, k, concurrency=min(k, MAX_ON_DEMAND_CONCURRENCY), topic=topic, on_event=collect)
    started = time.monotonic()
    task = asyncio.create_task(runner.run())
    try:
        done, _ = await asyncio.wait({task}, timeout=timeout_s)
    except asyncio.CancelledError:
        task.cancel()
        raise
    timed_out = not done
    message = ""
    if timed_out:
        await runner.cancel()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    elif task.exception() is not None:
        message = f"stopped early: {type(task.exception()).__name__}"
    accepted = sum(1 for sample in finished if sample.status == "accepted")
    if timed_out:
        message = f"timed out after {timeout_s:g} s: {accepted} of {k} samples accepted; the rest were cancelled"
    elif accepted < k and not message:
        summary = task.result()
        message = f"stopped after {accepted} of {k} accepted ({summary.stop_reason}): {summary.message}".rstrip(": ")
    return SampleBatch(
        style=deps.pack.name,
        requested=k,
        accepted=accepted,
        samples=[to_result(sample) for sample in finished],
        timed_out=timed_out,
        message=message,
        elapsed_s=round(time.monotonic() - started, 3),
    )
