"""Errors of the job service; each message says what to fix and never contains a secret."""

from __future__ import annotations

from graph.faults import StorageFull


class JobServiceError(Exception):
    """Base class: ``code`` is a stable machine name, the message is for people."""

    code = "job_error"


class JobNotFoundError(JobServiceError):
    """No job has this id."""

    code = "job_not_found"


class JobConflictError(JobServiceError):
    """The job is not in a state that allows the operation (e.g. cancelling an ended job)."""

    code = "job_conflict"


class LimitExceededError(JobServiceError):
    """A bound was reached: too many running jobs, subscribers or on-demand requests."""

    code = "limit_exceeded"
    retry_after_s: int = 5  # seconds a caller should wait before trying again


class InvalidRequestError(JobServiceError):
    """The request names an unknown style or judge prompt, or exceeds a size bound."""

    code = "invalid_request"


class StyleNotFoundError(JobServiceError):
    """No style pack has this name or alias."""

    code = "style_not_found"


class ShuttingDownError(JobServiceError):
    """The service is stopping and takes no new work."""

    code = "shutting_down"


class StorageFullError(JobServiceError, StorageFull):
    """The data directory's disk is full: nothing new can be stored until space is freed."""

    code = "storage_full"
    retry_after_s: int = 30


class IdempotencyConflictError(JobConflictError):
    """A client key (``Idempotency-Key``) was sent again with a different request."""

    code = "idempotency_key_reused"


class LeaseLostError(JobConflictError):
    """Another process holds the job's lease now: this one must not run it or write for it."""
