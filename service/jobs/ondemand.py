"""Make a few samples now (not stored as a job), bounded by a timeout."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from agents.schemas import Sample
from graph.nodes import LoopDeps
from graph.progress import JobEvent
from graph.runner import JobRunner
from service.jobs.models import SampleBatch, SampleResult

MAX_ON_DEMAND_CONCURRENCY = 4


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
