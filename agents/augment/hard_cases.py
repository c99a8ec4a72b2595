"""The hard-cases operator (难例挖掘): a near-boundary sibling that differs in the one detail that matters.

For "信用卡逾期了怎么办" the sibling asks "贷款逾期了怎么办": the same situation, one detail changed,
and a different right answer. The answer names the changed detail (as the parent says it and as
the child says it) and labels both cases; the checks, without an LLM: the original detail occurs in
the parent's user turns and no longer in the child's, the new detail occurs in the child's and not
in the parent's, the labels differ, the user turns stay near the parent's (similarity at least
``min_user_similarity``: a near-boundary case, not another topic), and the replies differ from the
parent's (3-gram overlap under ``max_reply_overlap``: the right answer changed). Both labels and
the detail go into the child's lineage, so the pair can be found and balanced later. ``focus``
(e.g. "信用卡逾期 vs 贷款逾期") tells the writer which boundary to probe.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, create_model

from agents.answers import AnswerModel, DraftAnswer, Exchange
from agents.augment.checks import (
    check_meaning,
    check_not_copy,
    check_phrases_absent,
    check_phrases_in,
    contains,
    joined,
)
from agents.augment.operator import ChildRequest, Operator, OperatorParams, operator_variables
from agents.checks import CheckFailure, EmbedderLike, normalise
from agents.rendering import format_dialogue
from agents.schemas import Turn

LABELS = ("original_detail", "new_detail", "original_case", "new_case")


class HardCasesParams(OperatorParams):
    """Parameters of ``hard-cases``."""

    op: Literal["hard-cases"] = "hard-cases"
    focus: str | None = Field(
        default=None, max_length=200, description="The boundary to probe, e.g. 信用卡逾期 vs 贷款逾期."
    )
    min_user_similarity: float = Field(default=0.88, ge=-1.0, le=1.0, description="Least similarity of each user turn.")
    max_reply_overlap: float = Field(default=0.6, gt=0.0, le=1.0, description="Most 3-gram overlap of the replies.")


@lru_cache(maxsize=16)
def hard_case_schema(exchanges: int) -> type[BaseModel]:
    """Build the answer schema ``HardCaseAnswer``: the detail and both labels first, then the exchanges."""
    short = Annotated[str, Field(min_length=1, max_length=40)]
    fields: dict[str, Any] = {name: (short, ...) for name in LABELS}
    fields["exchanges"] = (list[Exchange], Field(min_length=exchanges, max_length=exchanges))
    model: type[BaseModel] = create_model("HardCaseAnswer", __base__=AnswerModel, **fields)
    return model


class HardCases(Operator[HardCasesParams]):
    """Write a confusable sibling whose one changed detail changes the right answer."""

    name = "hard-cases"
    summary = "a near-boundary sibling differing in the one detail that changes the right answer, both cases labelled"
    params_type = HardCasesParams

    def variables(self, request: ChildRequest[HardCasesParams]) -> dict[str, object]:
        """Return the original and the boundary to probe."""
        focus = request.params.focus
        return {
            **operator_variables(request, self.exchanges(request)),
            "focus": f"Boundary to probe: {focus}\n" if focus else "",
        }

    def schema(self, request: ChildRequest[HardCasesParams]) -> type[DraftAnswer]:
        """Return the detail-labels-dialogue schema."""
        return hard_case_schema(self.exchanges(request))  # type: ignore[return-value]

    def read(self, request: ChildRequest[HardCasesParams], answer: DraftAnswer) -> tuple[list[Turn], dict[str, Any]]:
        """Return the dialogue; keep the detail and both labels in the notes."""
        notes = {name: str(getattr(answer, name, "")).strip() for name in LABELS}
        return DraftAnswer.model_construct(exchanges=getattr(answer, "exchanges", [])).turns(), notes

    def contract(self, request: ChildRequest[HardCasesParams], notes: dict[str, Any]) -> str:
        """Same situation but the one detail; the new case's right answer."""
        changed = (
            f" The detail '{notes['original_detail']}' becomes '{notes['new_detail']}' (a case of "
            f"{notes['new_case']}, not {notes['original_case']})."
            if all(notes.get(name) for name in LABELS)
            else ""
        )
        return (
            "This sample is a hard case for the original dialogue below: the user's situation is the same except "
            f"for one detail, and the replies give the right answer for the new case.{changed}\n"
            f"Original:\n{format_dialogue(request.parent.turns)}"
        )

    def check(
        self, request: ChildRequest[HardCasesParams], turns: list[Turn], notes: dict[str, Any], embedder: EmbedderLike
    ) -> list[CheckFailure]:
        """One detail changed (and named truly), the rest of the user's turns kept, a different answer."""
        params, parent = request.params, request.parent.turns
        parent_users, child_users = joined(parent, ("user",)), joined(turns, ("user",))
        old, new = notes.get("original_detail", ""), notes.get("new_detail", "")
        failures = [
            *check_phrases_in([old], parent_users, where="the original's user turns", what="the original detail",
                              code="not_in_original", fix=": name the detail as the original user says it"),
            *check_phrases_in([new], child_users, where="the user turns", what="the new detail",
                              fix=": the user must say it"),
            *check_phrases_absent([new], parent_users, where="the original", what="the new detail",
                                  fix=": change the detail to something the original does not say"),
        ]  # fmt: skip
        if old and new and normalise(old) not in normalise(new) and contains(child_users, old):
            failures.append(CheckFailure("detail_kept", f"the user still says '{old}': replace it with '{new}'"))
        if normalise(notes.get("original_case", "")) == normalise(notes.get("new_case", "")):
            failures.append(
                CheckFailure("same_case", "original_case and new_case are the same: name how the new case differs")
            )
        failures += check_meaning(
            embedder,
            parent,
            turns,
            params.min_user_similarity,
            roles=("user",),
            what="the rest of the user's situation",
        )
        same = check_not_copy(
            parent, turns, params.max_reply_overlap, roles=("assistant",),
            change="the changed detail must change the right answer", code="same_answer",
        )  # fmt: skip
        return [*failures, *([same] if same else [])]


HARD_CASES = HardCases()
