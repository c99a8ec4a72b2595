"""The dialogue-extension operator (上下文扩展): more exchanges after the parent's, the parent kept verbatim.

"用户：我今天感觉不太舒服… 助手：…能具体说说哪里不舒服吗？" grows to four exchanges. The role writes
only the new exchanges and the child is the parent's turns followed by them, so a first draft
keeps the parent verbatim by construction; a rewrite (which sees the whole dialogue) is checked
for it (``prefix_changed``). The new turns must not repeat earlier ones; they alternate and keep
the pack's bounds (the pack's checks), and the judge scores ``coherence`` across the turns (added
to the rubric when the pack has none).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from agents.answers import MAX_EXCHANGES, DraftAnswer
from agents.augment.checks import check_no_repeats, check_verbatim_prefix
from agents.augment.operator import ChildRequest, Operator, OperatorParams, operator_variables
from agents.checks import CheckFailure, EmbedderLike
from agents.rendering import format_dialogue
from agents.schemas import Sample, Turn
from agents.styles import Criterion, StylePack, with_coherence


class ExtendParams(OperatorParams):
    """Parameters of ``extend``."""

    op: Literal["extend"] = "extend"
    turns: int = Field(default=3, ge=2, le=MAX_EXCHANGES, description="Exchanges of the extended dialogue, in all.")


class Extend(Operator[ExtendParams]):
    """Continue a dialogue, its turns kept as they are."""

    name = "extend"
    summary = "more exchanges after the parent's (--turns 4 in all), the parent's turns kept verbatim"
    params_type = ExtendParams
    temperature = 0.7

    def refuse(self, parent: Sample, params: ExtendParams, pack: StylePack) -> str | None:
        """Refuse parents that already have as many exchanges as asked for."""
        problem = super().refuse(parent, params, pack)
        if problem:
            return problem
        have = sum(1 for turn in parent.turns if turn.role == "assistant")
        if have >= params.turns:
            return f"it already has {have} exchanges (--turns {params.turns} asks for {params.turns} in all)"
        return None

    def exchanges(self, request: ChildRequest[ExtendParams]) -> int:
        """Return the extended length."""
        return request.params.turns

    def answer_exchanges(self, request: ChildRequest[ExtendParams]) -> int:
        """Return how many new exchanges the role writes."""
        return request.params.turns - request.parent_exchanges

    def criteria(self, pack: StylePack, params: ExtendParams) -> list[Criterion]:
        """Judge coherence across the turns too."""
        return with_coherence(list(pack.rubric))

    def variables(self, request: ChildRequest[ExtendParams]) -> dict[str, object]:
        """Return the original, the total and the new exchange counts."""
        return {
            **operator_variables(request, self.exchanges(request)),
            "new_exchanges": self.answer_exchanges(request),
        }

    def read(self, request: ChildRequest[ExtendParams], answer: DraftAnswer) -> tuple[list[Turn], dict[str, Any]]:
        """Return the parent's turns followed by the new ones."""
        return [*request.parent.turns, *answer.turns()], {}

    def contract(self, request: ChildRequest[ExtendParams], notes: dict[str, Any]) -> str:
        """Keep the original turns verbatim; only the later turns may change."""
        count = len(request.parent.turns)
        return (
            f"This sample extends the original dialogue below: its first {count} turns must stay exactly as they "
            "are (copy them unchanged); only the later turns may change, and they must follow from the earlier "
            f"ones.\nOriginal:\n{format_dialogue(request.parent.turns)}"
        )

    def check(
        self, request: ChildRequest[ExtendParams], turns: list[Turn], notes: dict[str, Any], embedder: EmbedderLike
    ) -> list[CheckFailure]:
        """The original turns verbatim; no new turn repeats an earlier one."""
        parent = request.parent.turns
        return [*check_verbatim_prefix(parent, turns), *check_no_repeats(turns, len(parent))]


EXTEND = Extend()
