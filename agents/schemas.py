"""Data shapes shared by every role: turns, samples, verdicts, attempts and lineage."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

Role = Literal["user", "assistant"]
LLMRole = Literal["generator", "judge", "rewriter", "topics"]


def utc_now() -> datetime:
    """Return the current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class Turn(BaseModel):
    """One message of a dialogue."""

    role: Role
    content: str


class Verdict(BaseModel):
    """A judge answer checked against the rubric thresholds.

    ``scores`` are the sampled 1-5 scores; ``weighted`` the probability-weighted ones from the
    same call, when the endpoint returned log-probabilities. ``scoring`` says which decided
    ``passed`` (a weighted score passes when it rounds to the threshold or above).
    """

    scores: dict[str, int]
    weighted: dict[str, float] = Field(default_factory=dict)
    scoring: Literal["sampled", "weighted"] = "sampled"
    reasons: dict[str, str] = Field(default_factory=dict)
    unsupported_claims: list[str] = Field(default_factory=list)
    feedback: str = ""
    passed: bool
    failing: list[str] = Field(default_factory=list)
    prompt_name: str = ""
    raw: str | None = None
    error: str | None = None


class TokenUsage(BaseModel):
    """Tokens spent by one call or a sum of calls."""

    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_hits: int = Field(default=0, description="Answers served from the call cache (no call, no tokens).")

    @property
    def total(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens

    def __add__(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(
            calls=self.calls + other.calls,
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cache_hits=self.cache_hits + other.cache_hits,
        )


class Attempt(BaseModel):
    """One version of a sample: the first draft or a rewrite, with what was found wrong.

    ``failure_codes`` are the machine codes of ``check_failures`` (``structure``, ``marker_missing``,
    ``ungrounded``...); ``cited`` the knowledge passage ids its replies cite.

    Cleaning adds two kinds: ``source`` (the row as it was in the parent version, kept when an
    operator rewrote it) and ``judge`` (a verdict on the row as it stood, from the judge operator).
    """

    kind: Literal["generate", "rewrite", "source", "judge"]
    turns: list[Turn] = Field(default_factory=list)
    raw: str | None = None
    parse_error: str | None = None
    check_failures: list[str] = Field(default_factory=list)
    failure_codes: list[str] = Field(default_factory=list)
    cited: list[str] = Field(default_factory=list)
    verdict: Verdict | None = None
    at: datetime = Field(default_factory=utc_now)


Origin = Literal["import", "generated", "cleaned", "augmented", "edited"]


class Lineage(BaseModel):
    """Where a sample came from: enough to reproduce or audit it.

    ``origin`` says which operation made this row: ``generated`` (a job: ``job_id``, ``style``,
    ``topic``, ``models``, ``prompt_hashes``, ``tokens``), ``import`` (``source_file`` and the
    1-based ``source_row``, with ``source_row_end`` when several rows made one dialogue, such as
    a chat log), or ``cleaned`` / ``augmented`` / ``edited`` (``operator`` with its ``params``,
    and the ``parent_id`` and ``parent_version`` (``name@N``) it was made from). Every field has a
    default, so samples stored before these fields existed still load (as ``generated``). A
    grounded sample names its ``knowledge`` set and the ids of the ``passages`` its replies cite.
    """

    origin: Origin = "generated"
    style: str = ""
    topic: str = ""
    workspace: str = "default"
    job_id: str | None = None
    models: dict[str, str] = Field(default_factory=dict)
    prompt_hashes: dict[str, str] = Field(default_factory=dict)
    tokens: dict[str, TokenUsage] = Field(default_factory=dict)
    source_file: str | None = None
    source_row: int | None = None
    source_row_end: int | None = None
    operator: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    parent_id: str | None = None
    parent_version: str | None = None
    knowledge: str | None = None
    passages: list[str] = Field(default_factory=list)
    started_at: datetime = Field(default_factory=utc_now)
    finished_at: datetime | None = None


class Sample(BaseModel):
    """A finished sample: accepted (turns are the final version) or rejected (reason kept)."""

    id: str
    status: Literal["accepted", "rejected"]
    system: str
    turns: list[Turn]
    reject_reason: str | None = None
    attempts: list[Attempt] = Field(default_factory=list)
    lineage: Lineage

    @property
    def rewrites(self) -> int:
        """How many rewrite attempts this sample needed."""
        return sum(1 for attempt in self.attempts if attempt.kind == "rewrite")

    @property
    def verdict(self) -> Verdict | None:
        """The last verdict the judge gave, if any."""
        for attempt in reversed(self.attempts):
            if attempt.verdict is not None:
                return attempt.verdict
        return None

    def user_text(self) -> str:
        """Return the user turns joined, for diversity and deduplication."""
        return "\n".join(turn.content for turn in self.turns if turn.role == "user")

    def assistant_text(self) -> str:
        """Return the assistant turns joined."""
        return "\n".join(turn.content for turn in self.turns if turn.role == "assistant")
