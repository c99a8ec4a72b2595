"""What a resumed job had already done: counters added to the runner's, and the budget left.

A job resumed after a restart runs a fresh :class:`graph.runner.JobRunner` that is given the
accepted samples as ``previous`` (so they count toward n); its other counters start at zero. The
baseline, computed from the samples stored before the restart, is added back so progress and the
summary cover the whole job, and the budget is reduced by what was already spent.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from agents.schemas import Sample, TokenUsage
from graph.progress import Budget, JobProgress, JobSummary, reason_code
from graph.runner import ATTEMPTS_PER_SAMPLE
from graph.state import merge_usage


@dataclass
class Baseline:
    """Counters of the samples finished before this run of a job."""

    finished: int = 0
    rejected: int = 0
    rewrites: int = 0
    usage: dict[str, TokenUsage] = field(default_factory=dict)
    elapsed_s: float = 0.0
    rejected_by_reason: Counter[str] = field(default_factory=Counter)

    @classmethod
    def from_samples(cls, samples: list[Sample], elapsed_s: float) -> Baseline:
        """Sum the counters of the stored samples (accepted and rejected)."""
        baseline = cls(finished=len(samples), elapsed_s=elapsed_s)
        for sample in samples:
            baseline.rewrites += sample.rewrites
            baseline.usage = merge_usage(baseline.usage, sample.lineage.tokens)
            if sample.status == "rejected":
                baseline.rejected += 1
                baseline.rejected_by_reason[reason_code(sample.reject_reason)] += 1
        return baseline

    @property
    def calls(self) -> int:
        """LLM calls made for the stored samples."""
        return sum(usage.calls for usage in self.usage.values())

    @property
    def tokens(self) -> int:
        """Tokens spent on the stored samples."""
        return sum(usage.total for usage in self.usage.values())

    def budget(self, budget: Budget, n: int) -> Budget:
        """Return what is left of the job's budget (each bound at least a minimal positive value)."""
        attempts = (budget.max_attempts or ATTEMPTS_PER_SAMPLE * n) - self.finished
        tokens = budget.max_tokens - self.tokens if budget.max_tokens is not None else None
        deadline = budget.deadline_s - self.elapsed_s if budget.deadline_s is not None else None
        return Budget(
            max_attempts=max(1, attempts),
            max_tokens=max(1, tokens) if tokens is not None else None,
            deadline_s=max(0.001, deadline) if deadline is not None else None,
        )

    def progress(self, progress: JobProgress) -> JobProgress:
        """Add the baseline to a runner's progress (accepted already includes the previous samples)."""
        return progress.model_copy(
            update={
                "rejected": progress.rejected + self.rejected,
                "rewrites": progress.rewrites + self.rewrites,
                "llm_calls": progress.llm_calls + self.calls,
                "tokens": progress.tokens + self.tokens,
                "elapsed_s": progress.elapsed_s + self.elapsed_s,
                "rejected_by_reason": dict(Counter(progress.rejected_by_reason) + self.rejected_by_reason),
            }
        )

    def summary(self, summary: JobSummary) -> JobSummary:
        """Add the baseline to a runner's summary."""
        if not self.finished:
            return summary
        tokens = merge_usage(summary.tokens, self.usage)
        calls = summary.llm_calls + self.calls
        total = summary.total_tokens + self.tokens
        count = summary.accepted
        return summary.model_copy(
            update={
                "rejected": summary.rejected + self.rejected,
                "rejected_by_reason": dict(Counter(summary.rejected_by_reason) + self.rejected_by_reason),
                "rewrites": summary.rewrites + self.rewrites,
                "llm_calls": calls,
                "tokens": tokens,
                "total_tokens": total,
                "calls_per_accepted": calls / count if count else None,
                "tokens_per_accepted": total / count if count else None,
                "wall_s": round(summary.wall_s + self.elapsed_s, 3),
            }
        )
