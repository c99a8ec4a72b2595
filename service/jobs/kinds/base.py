"""What every job kind shares: the request fields common to all kinds, and the kind protocol.

A job kind is one small module (``service/jobs/kinds/<kind>.py``) with a request model (a
subclass of :class:`JobRequestBase` whose ``kind`` is a one-value ``Literal``) and a
:class:`JobKind` object that checks a request against the server's bounds (``admit``) and builds
the run (``build``). ``service.jobs.kinds`` registers the kinds; the job manager, store, CLI,
HTTP routes and chat bots only ever see :data:`service.jobs.kinds.JobRequest` and a kind's run.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, Literal, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from agents.schemas import Sample
from agents.styles import StylePack
from graph.datasets.errors import InvalidNameError
from graph.datasets.export import ExportFormat
from graph.datasets.refs import check_name
from graph.progress import Budget, JobEvent, JobProgress, JobSummary

if TYPE_CHECKING:
    from service.engine import Engine
    from service.jobs.models import Limits
    from service.jobs.styles import StyleRegistry

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
MAX_CONCURRENCY = 64


def _default_formats() -> list[ExportFormat]:
    return ["sharegpt"]


class JobRequestBase(BaseModel):
    """The fields every job request has, whatever its kind."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    formats: list[ExportFormat] = Field(
        default_factory=_default_formats,
        min_length=1,
        max_length=4,
        description="Export formats offered for the data set; the first is the default of /dataset.",
    )
    concurrency: int = Field(
        default=2, ge=1, le=MAX_CONCURRENCY, description="LLM calls in flight at once (the server may cap it lower)."
    )
    budget: Budget = Field(default_factory=Budget)
    into: str | None = Field(
        default=None,
        max_length=64,
        description="A data set name: the job's accepted samples become a new version of it when the job ends.",
        examples=["gentle-set"],
    )

    @field_validator("into")
    @classmethod
    def _data_set_name(cls, name: str | None) -> str | None:
        if name is not None:
            try:
                check_name(name)
            except InvalidNameError as exc:
                raise ValueError(str(exc)) from None
        return name

    def parents(self) -> list[str]:
        """Return the data set versions the job reads (the parents of the version it writes with ``into``)."""
        return []


class ExecutorChoice(BaseModel):
    """Where a job's work runs: the fields of the kinds that can run on a Ray cluster."""

    executor: Literal["local", "ray"] = Field(
        default="local", description="Where the work runs: this process, or a Ray cluster (the ray extra)."
    )
    ray_address: str | None = Field(
        default=None, max_length=256, description="Ray cluster for executor ray: auto or host:port."
    )

    @model_validator(mode="after")
    def _address_needs_ray(self) -> ExecutorChoice:
        if self.ray_address is not None and self.executor != "ray":
            raise ValueError("ray_address is only used with executor ray")
        return self


R = TypeVar("R", bound=JobRequestBase)


class JobRun(Protocol):
    """A running job, as the job service drives it (``graph.runner.JobRunner`` is one)."""

    def progress(self) -> JobProgress:
        """Return the live counters."""
        ...

    async def cancel(self) -> None:
        """Stop starting work; what is in flight finishes and is kept."""
        ...

    async def run(self) -> JobSummary:
        """Run to the end; emit a ``sample`` event per finished sample; return the summary."""
        ...


EventSink = Callable[[JobEvent], Awaitable[None]]


@dataclass
class RunContext(Generic[R]):
    """What a kind gets to build one run of one stored job.

    Attributes:
        job_id: The job's id.
        request: The job's request (of the kind's own type).
        pack: The style-pack snapshot stored with the job (None for kinds without one).
        engine: The shared models, embedder and memories.
        previous: Every sample earlier runs of this job finished (accepted and rejected).
        elapsed_s: The time earlier runs took.
        on_event: Where the run sends its events; a ``sample`` event is stored before it returns.
        local: The job was started from the command line on this machine (file paths allowed).
    """

    job_id: str
    request: R
    pack: StylePack | None
    engine: Engine
    previous: list[Sample]
    elapsed_s: float
    on_event: EventSink
    local: bool = False


class JobKind(Protocol[R]):
    """One kind of job: how its requests are checked and how it runs."""

    name: str
    request_type: type[R]

    def target(self, request: R) -> int:
        """Return how many samples the job aims for (its progress target)."""
        ...

    def admit(
        self, request: R, limits: Limits, styles: StyleRegistry, *, pack: StylePack | None, local: bool
    ) -> StylePack | None:
        """Check the request against the server's bounds before it is stored; return the pack to snapshot.

        Args:
            request: The request.
            limits: The server's bounds.
            styles: Where style names resolve.
            pack: A pack the caller already resolved (the CLI's ``--style file.yaml``), or None.
            local: The caller is the command line on this machine (paths allowed).

        Raises:
            service.jobs.errors.JobServiceError: What to fix (unknown style or judge, n too large...).
        """
        ...

    async def build(self, context: RunContext[R]) -> JobRun:
        """Build the run of a stored job (first start or resume)."""
        ...
