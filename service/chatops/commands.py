"""The typed chat commands: what the grammar produces and the dispatcher runs.

A command that starts a durable job is a :class:`JobCommand`: the dispatcher starts its job
within the chat bounds and follows it to its file, whatever the kind of job (generate, and
the data set jobs :class:`Clean` and :class:`Augment`, which write a new version).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, replace

from agents.augment.registry import OperatorSpec, parse_ops
from graph.datasets.export import ExportFormat
from graph.datasets.refs import parse_ref
from service.jobs.kinds.augment import AugmentJobRequest
from service.jobs.kinds.clean import CleanJobRequest
from service.jobs.kinds.generate import GenerateJobRequest
from service.jobs.models import JobRequest

DEFAULT_FORMAT: ExportFormat = "sharegpt"
ParamValue = str | int | tuple[str, ...]


class ChatCommand:
    """Base of every chat command; the dispatcher routes on the concrete type."""


class JobCommand(ChatCommand, ABC):
    """A command that starts a durable job, which the chat then follows to its file.

    Subclasses are frozen dataclasses with at least ``n`` (samples the job makes: what the
    chat bounds count) and ``format`` (the export format of the file delivered at the end).
    """

    n: int
    format: ExportFormat

    @property
    @abstractmethod
    def label(self) -> str:
        """Return what the job makes, in a word (a style name, a data set reference)."""

    @abstractmethod
    def job_request(self) -> JobRequest:
        """Return the job request this command stands for."""


@dataclass(frozen=True)
class Help(ChatCommand):
    """Show the grammar with examples."""


@dataclass(frozen=True)
class Styles(ChatCommand):
    """List the style packs."""


@dataclass(frozen=True)
class Status(ChatCommand):
    """Show a job's progress or summary."""

    job_id: str


@dataclass(frozen=True)
class Cancel(ChatCommand):
    """Cancel a running job."""

    job_id: str


@dataclass(frozen=True)
class SampleNow(ChatCommand):
    """Make one sample now and show it with its scores."""

    style: str


@dataclass(frozen=True)
class Generate(JobCommand):
    """Start a dataset job of ``n`` samples of a style, exported as ``format``."""

    style: str
    n: int
    format: ExportFormat = DEFAULT_FORMAT

    @property
    def label(self) -> str:
        """Return the style's name."""
        return self.style

    def job_request(self) -> JobRequest:
        """Return a generate job of ``n`` samples offered in ``format``."""
        return GenerateJobRequest(style=self.style, n=self.n, formats=[self.format])


# ------------------------------------------------------------- data set commands


@dataclass(frozen=True)
class DatasetJobCommand(JobCommand, ABC):
    """A job over a data set version (``ref``) that writes a new version of the same data set.

    The grammar gives the ref as typed; at start the service pins it (``name`` -> ``name@N``)
    and sets ``n`` from the version's rows (:meth:`pinned`), so the bounds count the job's work.
    """

    ref: str
    n: int = 0
    format: ExportFormat = DEFAULT_FORMAT

    @property
    def label(self) -> str:
        """Return the version the job reads."""
        return self.ref

    @property
    def into(self) -> str:
        """Return the data set that gets the new version (the source's own)."""
        return parse_ref(self.ref).name

    @abstractmethod
    def pinned(self, ref: str, rows: int) -> DatasetJobCommand:
        """Return this command on the resolved version ``ref`` of ``rows`` rows, with its ``n``."""


@dataclass(frozen=True)
class Clean(DatasetJobCommand):
    """Clean a version with a chain of operators (``default`` when none is named) into a new version."""

    ops: str = "default"

    def pinned(self, ref: str, rows: int) -> Clean:
        """Return the command on ``ref``; ``n`` is 0: cleaning makes no samples (the job bounds still count it)."""
        return replace(self, ref=ref, n=0)

    def job_request(self) -> JobRequest:
        """Return a ``clean`` job of the version into its own data set."""
        return CleanJobRequest(kind="clean", source=self.ref, into=self.into, ops=self.ops)


@dataclass(frozen=True)
class Augment(DatasetJobCommand):
    """Grow a version: each operator makes ``per_sample`` children of every row."""

    ops: tuple[str, ...] = ("paraphrase",)
    per_sample: int = 1
    style: str | None = None  # the target style (None: the rows' own)
    params: tuple[tuple[str, ParamValue], ...] = ()  # the CLI's shorthands: ("scenes", ("餐厅",)), ("turns", 4)

    def specs(self) -> list[OperatorSpec]:
        """Return the operators with their parameters, validated (raises ``OperatorError`` naming a bad one)."""
        shorthands = {name: list(value) if isinstance(value, tuple) else value for name, value in self.params}
        return parse_ops(",".join(self.ops), shorthands)

    def pinned(self, ref: str, rows: int) -> Augment:
        """Return the command on ``ref``; ``n`` is the most children it can make (what the bounds count)."""
        return replace(self, ref=ref, n=rows * len(self.ops) * self.per_sample)

    def job_request(self) -> JobRequest:
        """Return an ``augment`` job of the version into its own data set (parents kept)."""
        return AugmentJobRequest(
            kind="augment",
            source=self.ref,
            into=self.into,
            ops=self.specs(),
            per_sample=self.per_sample,
            style=self.style,
        )


@dataclass(frozen=True)
class Report(ChatCommand):
    """Build a version's QC report and deliver report.html."""

    ref: str
