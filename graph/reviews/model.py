"""The shapes of a review: a round, an assignment, a decision, reason codes, reviewer names."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from agents.schemas import utc_now
from agents.styles import Criterion
from graph.reviews.errors import InvalidDecisionError

REVIEWER_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,31}$")
MAX_TURN_CHARS = 8_000
REASONS: dict[str, str] = {
    "off_style": "does not sound like the persona",
    "incorrect": "wrong or unsupported facts",
    "unhelpful": "does not answer what the user asked",
    "unnatural": "stilted, repetitive or machine-like",
    "unsafe": "harmful, risky advice or policy breach",
    "pii": "personal data left in",
    "duplicate": "a copy of another item",
    "other": "another problem (say which in the note)",
}
"""Reject reason codes, shown on the page in this order (keys 1-8 pick one in reject mode)."""

Decision = Literal["accept", "reject"]
Role = Literal["first", "second", "settle"]


def check_reviewer(name: str) -> str:
    """Return a reviewer name if it is valid: lowercase letters, digits, ``.``, ``_``, ``-``, 1-32 characters."""
    if not REVIEWER_NAME.match(name):
        raise InvalidDecisionError(
            f"invalid reviewer name {name!r}: use 1-32 lowercase letters, digits, '.', '_' or '-'"
        )
    return name


class Round(BaseModel):
    """One review round of a version: who reviews what share, on which rubric."""

    ref: str
    style: str = ""
    criteria: list[Criterion]
    fraction: float
    overlap: float
    reviewers: list[str]
    seed: int = 0
    strata: list[str] = Field(default_factory=list)
    items: int = 0
    created_at: datetime = Field(default_factory=utc_now)


class Assignment(BaseModel):
    """One item in one reviewer's queue."""

    ref: str
    sample_id: str
    reviewer: str
    position: int
    role: Role = "first"
    stratum: str = ""


class ReviewDecision(BaseModel):
    """What one reviewer decided about one item; ``revision`` counts their saves of it."""

    ref: str
    sample_id: str
    reviewer: str
    decision: Decision
    reason: str | None = None
    scores: dict[str, int] = Field(default_factory=dict)
    edits: dict[int, str] = Field(default_factory=dict, description="Turn index -> the reviewer's text.")
    note: str = ""
    decided_at: datetime = Field(default_factory=utc_now)
    revision: int = 1


def check_decision(decision: ReviewDecision, criteria: list[Criterion], turns: int) -> ReviewDecision:
    """Validate a decision against the round's rubric and the item's turns (raises ``InvalidDecisionError``)."""
    if decision.decision == "reject":
        if decision.reason not in REASONS:
            raise InvalidDecisionError(f"a rejection needs a reason; one of {', '.join(REASONS)}")
    elif decision.reason is not None:
        decision = decision.model_copy(update={"reason": None})
    names = {criterion.name for criterion in criteria}
    for name, score in decision.scores.items():
        if name not in names:
            raise InvalidDecisionError(f"unknown criterion {name!r}; the rubric has {', '.join(sorted(names))}")
        if not 1 <= score <= 5:
            raise InvalidDecisionError(f"score of {name} must be 1-5, got {score}")
    for index, text in decision.edits.items():
        if not 0 <= index < turns:
            raise InvalidDecisionError(f"turn {index} does not exist; the item has {turns} turns")
        if not text.strip():
            raise InvalidDecisionError(f"turn {index} would be empty; write the turn or leave it unedited")
        if len(text) > MAX_TURN_CHARS:
            raise InvalidDecisionError(f"turn {index} is longer than {MAX_TURN_CHARS} characters")
    if len(decision.note) > 2_000:
        raise InvalidDecisionError("the note is longer than 2000 characters")
    return decision
