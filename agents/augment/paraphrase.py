"""The paraphrase operator (同义替换): the same dialogue in other words.

Keeps: every turn's meaning (embedding similarity to the matching parent turn at least
``min_similarity``) and every number the parent states. Changes: the surface (the dialogue's
character 3-gram overlap with the parent under ``max_overlap``, and the whole dialogue no closer
than ``max_similarity``: not a copy). The defaults are calibrated for the bundled e5 embedder
(paraphrase pairs 0.94-0.98, different requests 0.80-0.90, copies above 0.99; 3-gram overlap of
paraphrases 0.0-0.25, of near copies 0.55 and up).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from agents.augment.checks import (
    EmbeddedTogether,
    check_meaning,
    check_not_copy,
    check_not_same_meaning,
    check_phrases_in,
    joined,
    turn_texts,
)
from agents.augment.operator import ChildRequest, Operator, OperatorParams, operator_variables
from agents.checks import CheckFailure, EmbedderLike
from agents.grounding import stated_numbers
from agents.rendering import format_dialogue
from agents.schemas import Turn


class ParaphraseParams(OperatorParams):
    """Parameters of ``paraphrase``."""

    op: Literal["paraphrase"] = "paraphrase"
    min_similarity: float = Field(
        default=0.92, ge=-1.0, le=1.0, description="Least similarity of each turn to its parent turn."
    )
    max_similarity: float = Field(
        default=0.99, ge=-1.0, le=1.0, description="Most similarity of the whole dialogue (a copy)."
    )
    max_overlap: float = Field(
        default=0.5, gt=0.0, le=1.0, description="Most character 3-gram overlap with the parent."
    )


def numbers_kept(parent: list[Turn], child: list[Turn]) -> list[CheckFailure]:
    """Check every number the parent states is stated by the child too."""
    numbers = list(dict.fromkeys(stated_numbers(joined(parent))))
    return check_phrases_in(
        numbers, joined(child), where="the new version", what="the original's number", fix=": keep every number"
    )


class Paraphrase(Operator[ParaphraseParams]):
    """Rewrite a dialogue in other words, meaning and structure kept."""

    name = "paraphrase"
    summary = "the same dialogue in other words (meaning kept, wording changed)"
    params_type = ParaphraseParams
    temperature = 0.8

    def variables(self, request: ChildRequest[ParaphraseParams]) -> dict[str, object]:
        """Return the pack's voice, the original and the siblings to differ from."""
        return operator_variables(request, self.exchanges(request))

    def contract(self, request: ChildRequest[ParaphraseParams], notes: dict[str, Any]) -> str:
        """Keep the meaning of each turn; change the words."""
        return (
            "This sample is a paraphrase of the original dialogue below: every turn must say the same thing as "
            "the matching original turn (same request, facts, numbers and feeling) in clearly different words "
            f"and sentence structure.\nOriginal:\n{format_dialogue(request.parent.turns)}"
        )

    def check(
        self, request: ChildRequest[ParaphraseParams], turns: list[Turn], notes: dict[str, Any], embedder: EmbedderLike
    ) -> list[CheckFailure]:
        """Meaning within the band, numbers kept, surface changed."""
        params, parent = request.params, request.parent.turns
        embedder = EmbeddedTogether(embedder, turn_texts(parent, turns, whole=True))  # one round trip for both checks
        failures = [*numbers_kept(parent, turns), *check_meaning(embedder, parent, turns, params.min_similarity)]
        copy = check_not_copy(parent, turns, params.max_overlap) or check_not_same_meaning(
            embedder, parent, turns, params.max_similarity
        )
        return [*failures, *([copy] if copy else [])]


PARAPHRASE = Paraphrase()
