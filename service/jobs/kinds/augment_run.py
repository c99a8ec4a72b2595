"""One run of an ``augment`` job: the child loop over a version's rows, with progress, cancel and the summary.

Every finished child is sent as a ``sample`` event (the job execution stores it before the next
child of that parent starts, and tells the SSE followers), so what a run finished survives any
kill; the next run restores those children and makes only the missing ones.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from agents.augment.registry import OperatorSpec, get_operator
from agents.judge import JudgeOptions
from agents.judge_plan import JudgePlan, plan_for
from agents.schemas import Sample
from agents.styles import StylePack
from graph.augment.loop import AugmentDeps
from graph.augment.runner import AugmentReport, AugmentRunner
from graph.augment.source import RowSource
from graph.datasets.store import DatasetStore
from graph.progress import JobEvent, JobProgress, JobSummary
from service.engine import Engine
from service.jobs.into import VersionPlan
from service.jobs.kinds.augment import AugmentJobRequest
from service.jobs.kinds.base import RunContext


def augment_deps(engine: Engine, pack: StylePack, specs: Sequence[OperatorSpec], max_rewrites: int = 2) -> AugmentDeps:
    """Return the child loop's dependencies: the engine's models and embedder, a judge plan per operator."""
    options = JudgeOptions(scoring=engine.scoring)
    plans: dict[str, JudgePlan] = {
        spec.op: plan_for(get_operator(spec.op).criteria(pack, spec), options=options) for spec in specs
    }
    return AugmentDeps(engine.models, engine.embedder, plans, max_rewrites=max_rewrites)


class AugmentRun:
    """A running ``augment`` job (the ``JobRun`` protocol)."""

    def __init__(self, context: RunContext[AugmentJobRequest]) -> None:
        """Wire the child loop from the job's pack and the engine's models; nothing runs until :meth:`run`."""
        assert context.pack is not None, "an augment job always has a target style pack"
        self.context, self.request, self.pack = context, context.request, context.pack
        engine = context.engine
        deps = augment_deps(engine, self.pack, self.request.ops, self.request.max_rewrites)
        self.store = DatasetStore(engine.settings.data_dir)
        self.source = RowSource.of_version(self.store, self.request.source, max_parents=self.request.max_parents)
        self.runner = AugmentRunner(
            deps, self.pack, list(self.request.ops), per_sample=self.request.per_sample,
            concurrency=self.request.concurrency, parent_version=self.request.source, budget=self.request.budget,
            elapsed_s=context.elapsed_s,
        )  # fmt: skip
        self.runner.restore(self.source, context.previous)
        self.target = 0
        self._started = time.monotonic()

    @property
    def report(self) -> AugmentReport:
        """The run's counters (earlier runs' children included)."""
        return self.runner.report

    def progress(self) -> JobProgress:
        """Children accepted and rejected so far, out of the most the version allows."""
        report = self.report
        return JobProgress(
            job_id=self.context.job_id,
            target=self.target,
            accepted=report.children,
            rejected=sum(report.rejected.values()),
            in_flight=report.in_flight,
            rewrites=report.rewrites,
            llm_calls=report.calls,
            tokens=report.total_tokens,
            elapsed_s=self.runner.elapsed_s,
            rejected_by_reason=dict(report.rejected),
        )

    async def cancel(self) -> None:
        """Stop starting children; the ones in flight finish and are kept."""
        await self.runner.cancel()

    async def run(self) -> JobSummary:
        """Augment the source's rows to the end (or a budget, or a cancel); return the summary."""
        source = await asyncio.to_thread(self.store.resolve, self.request.source)
        self.target = self.request.target(source.rows)
        await self.context.on_event(JobEvent(kind="started", progress=self.progress()))
        await self.runner.run(self.source, self._on_child)
        summary = self.summary()
        await self.context.on_event(JobEvent(kind="finished", progress=self.progress(), summary=summary))
        return summary

    async def _on_child(self, child: Sample) -> None:
        """Store the finished child (the job execution writes it) and tell the followers."""
        await self.context.on_event(JobEvent(kind="sample", progress=self.progress(), sample=child))

    def version_plan(self) -> VersionPlan:
        """How the version of ``into`` is written: the parents first (when kept), then the accepted children."""
        report, request = self.report, self.request
        dropped = {f"refused {reason}": count for reason, count in report.refused.items()}
        dropped.update({f"rejected {code}": count for code, count in report.rejected.items()})
        leading = None
        if request.keeps_parents():
            leading = RowSource.of_version(self.store, request.source, max_parents=request.max_parents).read_pages
        return VersionPlan(partial=self.runner.stop_reason is not None, leading=leading, dropped=dropped)

    def summary(self) -> JobSummary:
        """The job's summary: children per operator, rejections by reason, refusals, rewrites, calls, tokens."""
        report = self.report
        count = report.children
        stop = self.runner.stop_reason or "completed"
        return JobSummary(
            job_id=self.context.job_id,
            style=self.pack.name,
            workspace="",
            target=self.target,
            accepted=count,
            rejected=sum(report.rejected.values()),
            rejected_by_reason=dict(report.rejected),
            accepted_by_operator=dict(report.accepted),
            refused_by_reason=dict(report.refused),
            rewrites=report.rewrites,
            llm_calls=report.calls,
            tokens=dict(report.tokens),
            total_tokens=report.total_tokens,
            calls_per_accepted=report.calls / count if count else None,
            tokens_per_accepted=report.total_tokens / count if count else None,
            wall_s=round(self.runner.elapsed_s, 3),
            stop_reason=stop,
            message=f"parents {report.parents}",
            models=dict(self.context.engine.models.names),
        )
