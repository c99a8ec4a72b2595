"""Errors of the review layer: one root with a stable machine ``code``; messages say what to fix."""

from __future__ import annotations


class ReviewError(Exception):
    """Base class: ``code`` is a stable machine name, the message is for people."""

    code = "review_error"


class ReviewNotFoundError(ReviewError):
    """The version has no review round (``dialogforge review assign`` makes one)."""

    code = "review_not_found"


class NotAssignedError(ReviewError):
    """The item is not in this reviewer's queue."""

    code = "not_assigned"


class InvalidDecisionError(ReviewError):
    """A decision is malformed: unknown decision, reason, criterion, score or turn."""

    code = "invalid_decision"


class ReviewConflictError(ReviewError):
    """The operation would overwrite something: a round that exists, a decision changed meanwhile."""

    code = "review_conflict"
