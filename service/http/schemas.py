"""Request and response schemas of the HTTP API (the job service's own models live in service.jobs.models)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from agents.prompting import DEFAULT_JUDGE_PROMPT
from agents.schemas import TokenUsage, Turn
from agents.styles import MAX_STYLE_PACK_BYTES, StylePack
from graph.progress import JobProgress, JobSummary
from service.jobs.models import NAME_PATTERN, JobRecord, JobRequest, JobStatus


class RequestBody(BaseModel):
    """Base of every request body: unknown fields and non-finite numbers (NaN, Infinity) are refused (422)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class ErrorResponse(BaseModel):
    """Every 4xx/5xx body: a machine code and a message that says what to fix."""

    error: str = Field(examples=["invalid_request"])
    message: str = Field(examples=["body.n: Input should be greater than or equal to 1"])
    request_id: str = "-"


# ------------------------------------------------------------------ samples


class SampleCreate(RequestBody):
    """Make k samples now."""

    style: str = Field(min_length=1, max_length=64, examples=["gentle"])
    k: int = Field(default=1, ge=1, le=10, description="Accepted samples wanted (at most 10).")
    topic: str | None = Field(default=None, max_length=200)
    timeout_s: float | None = Field(default=None, gt=0, le=3600, description="Capped by the server's limit.")
    workspace: str = Field(default="on-demand", pattern=NAME_PATTERN)
    judge: str = Field(default=DEFAULT_JUDGE_PROMPT, max_length=64)
    max_rewrites: int = Field(default=2, ge=0, le=10)


# --------------------------------------------------------------------- jobs


JobCreate = JobRequest
"""Start a job of any kind: ``{"style": "gentle", "n": 20}`` (generate), ``{"kind": "clean", ...}`` or
``{"kind": "augment", ...}``."""


class JobLinks(BaseModel):
    """Where to follow a job."""

    self: str
    events: str
    dataset: str
    report: str
    cancel: str


class JobResponse(BaseModel):
    """A job: request, status, progress (with rate) and, once ended, its summary."""

    id: str
    status: JobStatus
    request: JobRequest
    progress: JobProgress
    rate_per_min: float
    summary: JobSummary | None
    error: str
    cancel_requested: bool
    version: str | None = Field(default=None, description="The data set version the job wrote (`into`), name@N.")
    created_at: datetime
    updated_at: datetime
    links: JobLinks

    @classmethod
    def of(cls, record: JobRecord) -> JobResponse:
        """Build the response of a stored job."""
        base = f"/v1/jobs/{record.id}"
        links = JobLinks(
            self=base,
            events=f"{base}/events",
            dataset=f"{base}/dataset?format={record.request.formats[0]}",
            report=f"{base}/report",
            cancel=f"{base}/cancel",
        )
        return cls(
            id=record.id,
            status=record.status,
            request=record.request,
            progress=record.progress,
            rate_per_min=round(record.progress.rate_per_min, 3),
            summary=record.summary,
            error=record.error,
            cancel_requested=record.cancel_requested,
            version=record.version,
            created_at=record.created_at,
            updated_at=record.updated_at,
            links=links,
        )


class JobList(BaseModel):
    """One page of jobs, newest first."""

    items: list[JobResponse]
    total: int
    offset: int
    limit: int
    next: str | None = Field(description="The next page's URL, or null on the last page.")


class ReportResponse(BaseModel):
    """report.json: the request, the summary, and one line per accepted and rejected sample."""

    request: dict[str, Any]
    summary: JobSummary
    accepted: list[dict[str, Any]]
    rejected: list[dict[str, Any]]


# -------------------------------------------------------------------- judge


class TurnIn(Turn, RequestBody):
    """One message of a dialogue sent to the judge."""


class JudgeItem(RequestBody):
    """One dialogue to score."""

    turns: list[TurnIn] = Field(min_length=2, max_length=12)
    system: str | None = Field(default=None, max_length=8000, description="Persona; defaults to the style's.")


class JudgeRequest(RequestBody):
    """Score your own dialogues with a style's rubric and a judge prompt."""

    style: str = Field(min_length=1, max_length=64, description="Whose rubric to use.", examples=["gentle"])
    prompt: str = Field(default=DEFAULT_JUDGE_PROMPT, max_length=64, description="Judge prompt name (prompts/judge).")
    samples: list[JudgeItem] = Field(min_length=1, max_length=20)


class JudgeResult(BaseModel):
    """The judge's verdict on one dialogue."""

    index: int
    passed: bool
    scores: dict[str, int]
    reasons: dict[str, str]
    feedback: str
    failing: list[str]
    error: str | None = None


class JudgeResponse(BaseModel):
    """Per-dialogue verdicts and the tokens spent."""

    style: str
    prompt: str
    results: list[JudgeResult]
    tokens: TokenUsage


# ------------------------------------------------------------------- styles


class StyleInfo(BaseModel):
    """A style pack in a list."""

    name: str
    aliases: list[str]
    description: str
    language: str
    builtin: bool
    criteria: list[str]


class StyleDetail(BaseModel):
    """A whole style pack."""

    builtin: bool
    pack: StylePack


def _not_null(schema: dict[str, Any]) -> None:
    """Document an optional field as "absent or a value", not null (null is refused)."""
    options = [option for option in schema.pop("anyOf", []) if option != {"type": "null"}]
    schema.pop("default", None)
    if options:
        schema.update(options[0])


class StyleCreate(RequestBody):
    """Register a custom style pack: give it as YAML text or as a JSON object (exactly one)."""

    model_config = ConfigDict(json_schema_extra={"oneOf": [{"required": ["yaml"]}, {"required": ["pack"]}]})

    yaml: str | None = Field(
        default=None,
        max_length=MAX_STYLE_PACK_BYTES,
        description="The pack as YAML (or JSON) text, at most 256 KiB; validated like `pack`.",
        json_schema_extra=_not_null,
    )
    pack: StylePack | None = Field(default=None, description="The pack as a JSON object.", json_schema_extra=_not_null)

    @model_validator(mode="after")
    def _exactly_one(self) -> StyleCreate:
        given = [field for field in ("yaml", "pack") if getattr(self, field) is not None]
        if len(given) != 1 or len(self.model_fields_set) != 1:
            raise ValueError("give exactly one of 'yaml' (text) or 'pack' (object)")
        return self


class StyleCreated(BaseModel):
    """The registered pack's name, and whether it replaced an earlier one."""

    name: str
    created: bool


# ------------------------------------------------------------------- health


class Health(BaseModel):
    """Liveness and what the service runs on; ``degraded`` when the store cannot take writes."""

    status: Literal["ok", "degraded"]
    llm: Literal["embedded", "remote", "injected"]
    jobs_running: int
    auth: bool = Field(description="Whether API keys are required on /v1.")
    store: Literal["writable", "not_writable"] = Field(
        default="writable", description="Whether the data directory can take writes (not_writable: disk full)."
    )
    message: str = Field(default="", description="Why the status is degraded.")
