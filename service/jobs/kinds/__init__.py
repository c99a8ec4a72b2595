"""The job kinds: one request type (discriminated by ``kind``) and one run path for every kind.

Adding a kind (``clean``, ``augment``): write ``service/jobs/kinds/<kind>.py`` with its request
model (``kind: Literal["<kind>"]``, a subclass of ``JobRequestBase``) and its ``JobKind`` object,
then register both here: add the object to ``KINDS`` and the model to ``JobRequest``, e.g.::

    JobRequest = Annotated[
        Annotated[GenerateJobRequest, Tag("generate")] | Annotated[CleanJobRequest, Tag("clean")],
        Discriminator(request_kind),
    ]

``request_kind`` treats a request without ``kind`` as ``generate`` (the API's first clients).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Discriminator, Tag, TypeAdapter

from service.jobs.kinds.augment import AUGMENT, AugmentJobRequest
from service.jobs.kinds.base import JobKind, JobRequestBase, JobRun, RunContext
from service.jobs.kinds.clean import CLEAN, CleanJobRequest
from service.jobs.kinds.generate import GENERATE, GenerateJobRequest

KINDS: dict[str, JobKind[Any]] = {GENERATE.name: GENERATE, CLEAN.name: CLEAN, AUGMENT.name: AUGMENT}
DEFAULT_KIND = GENERATE.name


def request_kind(value: Any) -> str:
    """Return the kind of a request given as a model or as raw data (no ``kind``: ``generate``)."""
    if isinstance(value, dict):
        return str(value.get("kind", DEFAULT_KIND))
    return str(getattr(value, "kind", DEFAULT_KIND))


JobRequest = Annotated[
    Annotated[GenerateJobRequest, Tag("generate")]
    | Annotated[CleanJobRequest, Tag("clean")]
    | Annotated[AugmentJobRequest, Tag("augment")],
    Discriminator(request_kind),
]
"""The one job request type: its ``kind`` says which model (no ``kind``: ``generate``)."""

_adapter: TypeAdapter[JobRequest] = TypeAdapter(JobRequest)


def parse_request(data: str | bytes) -> JobRequest:
    """Validate a stored or received request (JSON text) into its kind's model."""
    return _adapter.validate_json(data)


def kind_of(request: JobRequestBase) -> JobKind[Any]:
    """Return the kind that runs this request."""
    return KINDS[request_kind(request)]


__all__ = [
    "KINDS",
    "AugmentJobRequest",
    "CleanJobRequest",
    "GenerateJobRequest",
    "JobKind",
    "JobRequest",
    "JobRequestBase",
    "JobRun",
    "RunContext",
    "kind_of",
    "parse_request",
]
