"""The typed chat commands: what the grammar produces and the dispatcher runs.

A command that starts a durable job is a :class:`JobCommand`: the dispatcher starts its job
within the chat bounds and follows it to its file, whatever the kind of job (generate today;
clean and augment plug in as new ``JobCommand`` subclasses).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from graph.datasets.export import ExportFormat
from service.jobs.kinds.generate import GenerateJobRequest
from service.jobs.models import JobRequest

DEFAULT_FORMAT: ExportFormat = "sharegpt"


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
