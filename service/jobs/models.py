"""The job service's data shapes: requests, records, pages, progress updates and on-demand batches.

These are platform-neutral (the HTTP routes and the Slack bot both use them); the HTTP layer adds
its own request/response schemas on top in ``service.http.schemas``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from agents.prompting import DEFAULT_JUDGE_PROMPT
from agents.schemas import Sample, TokenUsage
from graph.datasets.export import ExportFormat
from graph.progress import Budget, JobProgress, JobSummary

JobStatus = Literal["queued", "running", "completed", "incomplete", "cancelled", "failed", "interrupted"]
ACTIVE_STATUSES: tuple[JobStatus, ...] = ("queued", "running")
RESUMABLE_STATUSES: tuple[JobStatus, ...] = ("queued", "running", "interrupted")
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"


def _default_formats() -> list[ExportFormat]:
    return ["sharegpt"]


class JobRequest(BaseModel):
    """What to make: a style, how many accepted samples, and the job's bounds."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    style: str = Field(min_length=1, max_length=64, description="Style pack name or alias (see GET /v1/styles).")
    n: int = Field(ge=1, description="Accepted samples to make (at most the server's max_job_n).")
    formats: list[ExportFormat] = Field(
        default_factory=_default_formats,
        min_length=1,
        max_length=4,
        description="Export formats offered for the data set; the first is the default of /dataset.",
    )
    concurrency: int = Field(default=2, ge=1, le=16, description="Samples in flight at once.")
    workspace: str = Field(
        default="default", pattern=NAME_PATTERN, description="Memory namespace: jobs in one avoid each other's topics."
    )
    budget: Budget = Field(default_factory=Budget)
    topic: str | None = Field(default=None, max_length=200, description="Fix the topic of every sample.")
    judge: str = Field(default=DEFAULT_JUDGE_PROMPT, max_length=64, description="Judge prompt name (prompts/judge).")
    max_rewrites: int = Field(default=2, ge=0, le=10)
    seed: int | None = Field(default=None, ge=0, le=2**31 - 1)


class JobRecord(BaseModel):
    """A job as stored: its request, status, latest progress and (once ended) summary."""

    id: str
    request: JobRequest
    status: JobStatus
    progress: JobProgress
    summary: JobSummary | None = None
    error: str = ""
    cancel_requested: bool = False
    created_at: datetime
    updated_at: datetime

    @property
    def active(self) -> bool:
        """Whether the job is queued or running."""
        return self.status in ACTIVE_STATUSES


class JobPage(BaseModel):
    """One page of jobs, newest first."""

    items: list[JobRecord]
    total: int
    offset: int
    limit: int


class JobUpdate(BaseModel):
    """One progress event a subscriber receives.

    ``kind`` is ``snapshot`` (the state when subscribing), ``sample`` (a sample finished),
    ``status`` (the status changed) or ``end`` (the job ended; the stream stops after it).
    """

    job_id: str
    seq: int
    kind: Literal["snapshot", "sample", "status", "end"]
    status: JobStatus
    progress: JobProgress
    rate_per_min: float = 0.0
    sample_id: str | None = None
    sample_status: Literal["accepted", "rejected"] | None = None
    dropped: int = Field(default=0, description="Events dropped before this one because the reader was slow.")


class SampleResult(BaseModel):
    """One on-demand sample with its verdict, rewrites and token counts."""

    sample: Sample
    rewrites: int
    tokens: dict[str, TokenUsage]
    total_tokens: int


class SampleBatch(BaseModel):
    """What ``sample_now`` made: the finished samples, and whether the timeout cut it short."""

    style: str
    requested: int
    accepted: int
    samples: list[SampleResult]
    timed_out: bool
    message: str = ""
    elapsed_s: float


class Limits(BaseModel):
    """The service's bounds (from settings)."""

    max_job_n: int = 10_000
    max_concurrent_jobs: int = 4
    max_samples_k: int = 10
    sample_timeout_s: float = 300.0
    shutdown_grace_s: float = 20.0
    max_event_subscribers: int = 256
    event_queue_size: int = 64
    max_concurrent_sample_requests: int = 4
