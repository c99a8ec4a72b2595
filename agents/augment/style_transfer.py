"""The style-transfer operator (风格转换): the same dialogue in the target pack's voice.

The target pack (``--style``) is the point: the child must pass its markers, bounds, exemplar
similarity and rubric, which the sample loop checks for every child. This operator adds that the
content is kept (each user turn at least ``min_user_similarity`` to its parent turn, each reply at
least ``min_reply_similarity``: style moves replies further than users) and that the replies
really changed (3-gram overlap with the parent's replies under ``max_overlap``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from agents.augment.checks import EmbeddedTogether, check_meaning, check_not_copy, turn_texts
from agents.augment.operator import ChildRequest, Operator, OperatorParams, operator_variables
from agents.checks import CheckFailure, EmbedderLike
from agents.rendering import format_dialogue, format_examples
from agents.schemas import Turn


class StyleTransferParams(OperatorParams):
    """Parameters of ``style-transfer`` (the target pack is the job's ``style``)."""

    op: Literal["style-transfer"] = "style-transfer"
    min_user_similarity: float = Field(default=0.88, ge=-1.0, le=1.0, description="Least similarity of each user turn.")
    min_reply_similarity: float = Field(default=0.85, ge=-1.0, le=1.0, description="Least similarity of each reply.")
    max_overlap: float = Field(default=0.6, gt=0.0, le=1.0, description="Most 3-gram overlap of the replies.")


class StyleTransfer(Operator[StyleTransferParams]):
    """Rewrite a dialogue in another persona's voice, content kept."""

    name = "style-transfer"
    summary = "the same dialogue in the voice of --style (content kept, replies restyled)"
    params_type = StyleTransferParams
    temperature = 0.7
    needs_style = True
    keeps_language = False  # the target pack's voice, markers and language

    def variables(self, request: ChildRequest[StyleTransferParams]) -> dict[str, object]:
        """Return the target persona with its examples, and the original."""
        return {**operator_variables(request, self.exchanges(request)), "examples": format_examples(request.pack)}

    def contract(self, request: ChildRequest[StyleTransferParams], notes: dict[str, Any]) -> str:
        """Keep the content; speak in the persona."""
        return (
            "This sample restyles the original dialogue below into the persona: the user brings the same "
            "situation and each reply gives the same answer (facts, steps, advice), in the persona's voice.\n"
            f"Original:\n{format_dialogue(request.parent.turns)}"
        )

    def check(
        self,
        request: ChildRequest[StyleTransferParams],
        turns: list[Turn],
        notes: dict[str, Any],
        embedder: EmbedderLike,
    ) -> list[CheckFailure]:
        """User turns and replies keep their content; the replies' wording changed."""
        params, parent = request.params, request.parent.turns
        embedder = EmbeddedTogether(embedder, turn_texts(parent, turns))  # one round trip for both roles
        failures = [
            *check_meaning(
                embedder, parent, turns, params.min_user_similarity, roles=("user",), what="what the user says"
            ),
            *check_meaning(
                embedder, parent, turns, params.min_reply_similarity, roles=("assistant",), what="the reply's answer"
            ),
        ]
        copy = check_not_copy(
            parent, turns, params.max_overlap, roles=("assistant",), change="rewrite each reply in the persona's voice"
        )
        return [*failures, *([copy] if copy else [])]


STYLE_TRANSFER = StyleTransfer()
