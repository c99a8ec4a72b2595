"""A job's summary: counts, cost, models, thresholds and diversity, from its runner's state at the end."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from graph.diversity import DiversityReport, diversity_report
from graph.job_lineage import judge_prompt_name
from graph.progress import JobSummary, StopReason

if TYPE_CHECKING:
    from graph.runner import JobRunner

logger = logging.getLogger(__name__)


async def summarise_job(runner: JobRunner, stop: StopReason) -> JobSummary:
    """Return the summary of ``runner``'s job, which ended for ``stop``, with the accepted set's diversity."""
    texts = [sample.user_text() for sample in runner.accepted]
    diversity, message = None, runner.last_error if stop == "errors" else ""
    if texts:
        try:
            diversity = await asyncio.to_thread(
                diversity_report, texts, runner.deps.embedder, runner.deps.pack.near_duplicate_similarity
            )
        except Exception as exc:  # a summary without diversity beats losing the job's samples
            logger.warning("diversity not measured: %s: %s", type(exc).__name__, exc)
            message = message or f"diversity not measured: {type(exc).__name__}: {exc}"
    return build_summary(runner, stop, diversity, message)


def build_summary(runner: JobRunner, stop: StopReason, diversity: DiversityReport | None, message: str) -> JobSummary:
    """Return the summary of ``runner``'s job, which ended for ``stop``."""
    usage = runner.all_usage()
    count = len(runner.accepted)
    prices = runner.deps.prices
    batch = runner.deps.batches is not None
    cost = prices.report(usage, runner.deps.models.names, count, runner.cost_by_reason, batch=batch) if prices else None
    return JobSummary(
        job_id=runner.job_id,
        style=runner.deps.pack.name,
        workspace=runner.deps.memory.workspace,
        target=runner.n,
        accepted=count,
        rejected=runner.rejected,
        rejected_by_reason=dict(runner.rejected_by_reason),
        rewrites=runner.rewrites,
        llm_calls=runner.llm_calls(),
        cache_hits=sum(role.cache_hits for role in usage.values()),
        tokens=usage,
        total_tokens=runner.total_tokens(),
        calls_per_accepted=runner.llm_calls() / count if count else None,
        tokens_per_accepted=runner.total_tokens() / count if count else None,
        wall_s=round(runner.elapsed_s(), 3),
        stop_reason=stop,
        message=message,
        models=dict(runner.deps.models.names),
        prompt_hashes=runner.prompt_hashes,
        judge_prompt=judge_prompt_name(runner.deps),
        thresholds=runner.deps.pack.thresholds,
        diversity=diversity,
        admission=runner.admission(),
        cost=cost,
        answer_failures=dict(runner.answer_failures),
        judge=runner.judge_stats.model_copy(deep=True),
        batches=runner.deps.batches.stats() if runner.deps.batches else None,
    )
