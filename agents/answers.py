"""The answer schemas sent for constrained decoding: shapes that admit only valid answers.

- The judge answers one object with one required property per rubric criterion, each
  ``{"reason": ..., "score": 1-5}``, then ``feedback``. A criterion cannot be skipped, renamed or
  scored twice, and a score outside 1-5 cannot be written (an enum, one token per digit, which
  is also what makes probability-weighted scores readable from the score token).
- The generator and the rewriter answer ``{"exchanges": [{"user": ..., "assistant": ...}, ...]}``
  with exactly the number of exchanges the request fixes: a draft cannot start with a reply,
  end with a user turn or repeat a role. A grounded draft also names, before each reply, the
  passages it rests on, from the ids it was given (an enum: an unknown id cannot be written).

The stored shape stays :class:`agents.schemas.Turn` lists; :meth:`DraftAnswer.turns` converts.
Each model is built once per shape and validates strictly (no extra keys), so an answer from an
endpoint that does not enforce the schema is checked the same way.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model

from agents.schemas import Turn

FEEDBACK_KEY = "feedback"
MAX_REASON_CHARS = 160
MAX_FEEDBACK_CHARS = 300
MAX_CLAIMS = 3
MAX_CLAIM_CHARS = 160
MAX_CITED = 3
MAX_EXCHANGES = 6
Score = Literal[1, 2, 3, 4, 5]


class AnswerModel(BaseModel):
    """Base of every answer schema: unknown keys are refused (``additionalProperties: false``)."""

    model_config = ConfigDict(extra="forbid")


class CriterionScore(AnswerModel):
    """One criterion's judgement: the reason first (it conditions the score), then the score."""

    reason: str = Field(max_length=MAX_REASON_CHARS)
    score: Score


class GroundedCriterionScore(AnswerModel):
    """A criterion judged against reference passages: the unsupported claims are quoted first."""

    unsupported_claims: list[Annotated[str, Field(max_length=MAX_CLAIM_CHARS)]] = Field(
        max_length=MAX_CLAIMS, description="Claims of the reply that no passage supports, quoted word for word."
    )
    reason: str = Field(max_length=MAX_REASON_CHARS)
    score: Score


class JudgeAnswer(AnswerModel):
    """Base of the judge's answer; subclasses add one property per criterion and the feedback.

    (The feedback is declared by the subclass so that it comes after every criterion.)
    """

    def feedback_text(self) -> str:
        """Return the judge's rewriting instructions."""
        return str(getattr(self, FEEDBACK_KEY, ""))

    def judgements(self) -> dict[str, CriterionScore | GroundedCriterionScore]:
        """Return each criterion's judgement, keyed by criterion name, in rubric order."""
        found: dict[str, CriterionScore | GroundedCriterionScore] = {}
        for name, info in type(self).model_fields.items():
            value = getattr(self, name)
            if isinstance(value, CriterionScore | GroundedCriterionScore):
                found[info.alias or name] = value
        return found


def judge_schema(criteria: list[str], grounded: frozenset[str] = frozenset()) -> type[JudgeAnswer]:
    """Build the judge's schema: one required property per named criterion, then the feedback.

    Args:
        criteria: The rubric's criterion names, in order.
        grounded: Criteria judged against reference passages: their object quotes the claims
            that no passage supports before the reason.
    """
    return _judge_schema(tuple(criteria), grounded)


@lru_cache(maxsize=128)
def _judge_schema(names: tuple[str, ...], grounded: frozenset[str]) -> type[JudgeAnswer]:
    if len(set(names)) != len(names) or FEEDBACK_KEY in names or not names:
        raise ValueError(f"criterion names must be unique, non-empty and not {FEEDBACK_KEY!r}: {names}")
    fields: dict[str, Any] = {
        # field names are positional (c0, c1, ...): a criterion called "copy" or "schema" must not
        # shadow a pydantic attribute; the alias is what the model writes and reads
        f"c{index}": (GroundedCriterionScore if name in grounded else CriterionScore, Field(alias=name))
        for index, name in enumerate(names)
    }
    fields[FEEDBACK_KEY] = (str, Field(max_length=MAX_FEEDBACK_CHARS))  # last, so it follows the scores
    model: type[JudgeAnswer] = create_model("JudgeAnswer", __base__=JudgeAnswer, **fields)
    return model


class Exchange(AnswerModel):
    """One user turn and the assistant's reply to it."""

    user: str = Field(min_length=1)
    assistant: str = Field(min_length=1)


class DraftAnswer(AnswerModel):
    """Base of the generator's and the rewriter's answer (see :func:`draft_schema`)."""

    exchanges: list[Exchange]

    def turns(self) -> list[Turn]:
        """Return the dialogue as alternating user / assistant turns (the stored shape)."""
        return [
            Turn(role=role, content=text)
            for exchange in self.exchanges
            for role, text in (("user", exchange.user), ("assistant", exchange.assistant))
        ]

    def citations(self) -> list[list[str]]:
        """Return the passage ids each reply cites (empty lists for an ungrounded draft)."""
        return [list(getattr(exchange, "cited", [])) for exchange in self.exchanges]


def draft_schema(exchanges: int, passage_ids: tuple[str, ...] = ()) -> type[DraftAnswer]:
    """Build the draft schema: exactly ``exchanges`` user/assistant pairs.

    Args:
        exchanges: How many exchanges the answer must have (1-6).
        passage_ids: The ids of the passages the writer was given. When set, each exchange has a
            ``cited`` list (0-3 of these ids, written before the reply it supports).
    """
    if not 1 <= exchanges <= MAX_EXCHANGES:
        raise ValueError(f"exchanges must be between 1 and {MAX_EXCHANGES}, got {exchanges}")
    return _draft_schema(exchanges, tuple(dict.fromkeys(passage_ids)))


@lru_cache(maxsize=256)
def _draft_schema(exchanges: int, passage_ids: tuple[str, ...]) -> type[DraftAnswer]:
    exchange: type[AnswerModel] = Exchange
    if passage_ids:
        cited = list[Literal[passage_ids]]  # type: ignore[valid-type]
        exchange = create_model(
            "GroundedExchange",
            __base__=AnswerModel,
            user=(str, Field(min_length=1)),
            cited=(cited, Field(max_length=MAX_CITED, description="Ids of the passages the reply rests on.")),
            assistant=(str, Field(min_length=1)),
        )
    model: type[DraftAnswer] = create_model(
        "DraftAnswer",
        __base__=DraftAnswer,
        exchanges=(list[exchange], Field(min_length=exchanges, max_length=exchanges)),
    )
    return model


def exchange_count(turns: list[Turn]) -> int:
    """Return how many user/assistant exchanges a stored dialogue has (at least 1)."""
    return max(1, min(MAX_EXCHANGES, sum(1 for turn in turns if turn.role == "assistant")))
