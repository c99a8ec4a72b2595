"""The job service's data shapes: requests, records, pages, progress updates and on-demand batches.

These are platform-neutral (the HTTP routes and the Slack bot both use them); the HTTP layer adds
its own request/response schemas on top in ``service.http.schemas``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from agents.schemas import Sample, TokenUsage
from graph.progress import JobProgress, JobSummary
from service.jobs.kinds import JobRequest as JobRequest  # re-exported: the one request type of every kind
from service.jobs.kinds.base import NAME_PATTERN as NAME_PATTERN

JobStatus = Literal["queued", "running", "completed", "incomplete", "cancelled", "failed", "interrupted"]
ENDED_STATUSES: frozenset[JobStatus] = frozenset({"completed", "incomplete", "cancelled", "failed"})
"""The statuses a job ends in (an interrupted job is resumed: it goes back through queued)."""
JobOrigin = Literal["service", "cli"]
ACTIVE_STATUSES: tuple[JobStatus, ...] = ("queued", "running")
RESUMABLE_STATUSES: tuple[JobStatus, ...] = ("queued", "running", "interrupted")


class JobRecord(BaseModel):
    """A job as stored: its request, status, latest progress and (once ended) summary."""

    id: str
    request: JobRequest
    status: JobStatus
    progress: JobProgress
    summary: JobSummary | None = None
    error: str = ""
    cancel_requested: bool = False
    origin: JobOrigin = Field(default="service", description="Who started it: the service, or the command line.")
    version: str | None = Field(default=None, description="The data set version written with `into` (name@N).")
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
    ``progress`` (the counters moved in a job that makes no samples, e.g. ``clean``: rows read,
    kept and dropped by ``operator:code``; at most a few a second), ``status`` (the status
    changed) or ``end`` (the job ended; the stream stops after it).
    """

    job_id: str
    seq: int
    kind: Literal["snapshot", "sample", "progress", "status", "end"]
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
    max_job_concurrency: int = 16
    max_concurrent_jobs: int = 4
    max_samples_k: int = 10
    sample_timeout_s: float = 300.0
    shutdown_grace_s: float = 20.0
    max_event_subscribers: int = 256
    event_queue_size: int = 64
    max_concurrent_sample_requests: int = 4
