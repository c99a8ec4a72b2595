"""What a running job reports: budgets, progress events and the final summary."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from agents.admission import AdmissionStats
from agents.batching import StageStats
from agents.pricing import CostReport
from agents.schemas import Sample, TokenUsage
from graph.diversity import DiversityReport
from graph.judge_stats import JudgeStats

# "exhausted": the work source had nothing left (e.g. every row of a version was augmented).
StopReason = Literal["completed", "budget_attempts", "budget_tokens", "deadline", "cancelled", "errors", "exhausted"]


class Budget(BaseModel):
    """Bounds on one job: it stops starting samples when any is reached."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    max_attempts: int | None = Field(default=None, ge=1, description="Samples started (default 4 x n).")
    max_tokens: int | None = Field(default=None, ge=1, description="LLM tokens, all roles.")
    deadline_s: float | None = Field(default=None, gt=0, description="Wall-clock seconds.")


class JobProgress(BaseModel):
    """A snapshot of a job's counters."""

    job_id: str
    target: int
    accepted: int = 0
    rejected: int = 0
    in_flight: int = 0
    rewrites: int = 0
    llm_calls: int = 0
    tokens: int = 0
    elapsed_s: float = 0.0
    rejected_by_reason: dict[str, int] = Field(default_factory=dict)
    admission: AdmissionStats | None = Field(
        default=None, description="The endpoint's LLM call limit now; throttled = 429/503 answers in this job."
    )
    cost_usd: float | None = Field(default=None, description="What the job's LLM calls cost so far (price table).")
    batches: dict[str, StageStats] | None = Field(
        default=None,
        description="Batch mode: per stage (generate, judge, rewrite), calls sent in batches and answered.",
    )

    @property
    def rate_per_min(self) -> float:
        """Accepted samples per minute so far."""
        return 60.0 * self.accepted / self.elapsed_s if self.elapsed_s > 0 else 0.0


class ExecutorStats(BaseModel):
    """Where a job's samples ran, when not in the job's own process (a Ray cluster)."""

    name: Literal["ray"] = "ray"
    nodes: int = Field(description="Cluster nodes whose workers ran samples.")
    workers: int = Field(description="Worker actors started.")
    retried_units: int = Field(default=0, description="Samples sent to another worker after theirs died.")


class JobSummary(BaseModel):
    """The end-of-job report: what was made, rejected and repaired, at what cost."""

    job_id: str
    style: str
    workspace: str
    target: int
    accepted: int
    rejected: int
    rejected_by_reason: dict[str, int]
    accepted_by_operator: dict[str, int] = Field(
        default_factory=dict, description="augment: accepted children per operator."
    )
    refused_by_reason: dict[str, int] = Field(
        default_factory=dict, description="augment: rows an operator refused, by 'operator: reason'."
    )
    rewrites: int
    llm_calls: int
    cache_hits: int = Field(default=0, description="LLM answers served from the call cache (not in llm_calls).")
    tokens: dict[str, TokenUsage]
    total_tokens: int
    calls_per_accepted: float | None
    tokens_per_accepted: float | None
    wall_s: float
    stop_reason: StopReason
    message: str = ""
    models: dict[str, str] = Field(default_factory=dict)
    prompt_hashes: dict[str, str] = Field(default_factory=dict)
    judge_prompt: str = Field(default="", description="The judge prompt in force (prompts/judge/<name>.md).")
    thresholds: dict[str, int] = Field(default_factory=dict, description="The pack's pass threshold per criterion.")
    diversity: DiversityReport | None = None
    admission: AdmissionStats | None = None
    cost: CostReport | None = None
    judge: JudgeStats = Field(default_factory=JudgeStats)
    answer_failures: dict[str, int] = Field(
        default_factory=dict,
        description="Drafts and verdicts that failed on their shape: draft_parse (unreadable draft), structure "
        "(roles out of order or an empty turn), judge_parse (unreadable verdict).",
    )
    batches: dict[str, StageStats] | None = None
    executor: ExecutorStats | None = Field(default=None, description="Set when the samples ran on a Ray cluster.")

    @property
    def complete(self) -> bool:
        """Whether the job reached its target."""
        return self.accepted >= self.target


class JobEvent(BaseModel):
    """One progress event: a sample finished, the job started or ended, or (``progress``) its counters moved."""

    kind: Literal["started", "sample", "finished", "progress"]
    progress: JobProgress
    sample: Sample | None = None
    summary: JobSummary | None = None


STRUCTURE_CODES = frozenset({"structure", "empty"})


def answer_failures(sample: Sample) -> dict[str, int]:
    """Count a sample's attempts that failed on the answer's shape rather than its content."""
    counts: dict[str, int] = {}
    for attempt in sample.attempts:
        kinds = [
            "draft_parse" if attempt.parse_error else "",
            "structure" if STRUCTURE_CODES & set(attempt.failure_codes) else "",
            "judge_parse" if attempt.verdict is not None and attempt.verdict.error else "",
        ]
        for kind in filter(None, kinds):
            counts[kind] = counts.get(kind, 0) + 1
    return counts


def reason_code(reject_reason: str | None) -> str:
    """Return the machine code of a reject reason (the part before the first ": ")."""
    if not reject_reason:
        return "unknown"
    return reject_reason.split(": ", 1)[0].strip() or "unknown"
