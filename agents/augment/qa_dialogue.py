"""The Q&A-to-dialogue operator (结构变形): an FAQ pair becomes a natural multi-turn exchange.

"Q: 问题 A: 答案" -> "用户: 问题 / 客服: 答案", over ``turns`` exchanges. The parent must be one
question and one answer (a row with more exchanges is refused: it is a dialogue already). The
answer first lists the answer's key facts, copied word for word; the checks, without an LLM: each
listed fact really is in the parent's answer, the facts cover at least ``min_coverage`` of it,
each fact and every number of the answer occurs in the child's replies, and the child's first
user turn still asks the question (similarity at least ``min_similarity``).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, create_model

from agents.answers import MAX_EXCHANGES, AnswerModel, DraftAnswer, Exchange
from agents.augment.checks import check_phrases_in, joined, similarities
from agents.augment.operator import ChildRequest, Operator, OperatorParams, operator_variables
from agents.checks import CheckFailure, EmbedderLike, normalise
from agents.grounding import stated_numbers
from agents.schemas import Sample, Turn
from agents.styles import Criterion, StylePack, with_coherence

MAX_FACTS = 6


class QaDialogueParams(OperatorParams):
    """Parameters of ``qa-to-dialogue``."""

    op: Literal["qa-to-dialogue"] = "qa-to-dialogue"
    turns: int = Field(default=3, ge=2, le=MAX_EXCHANGES, description="Exchanges of the dialogue.")
    min_similarity: float = Field(
        default=0.85, ge=-1.0, le=1.0, description="Least similarity of the first user turn to the question."
    )
    min_coverage: float = Field(
        default=0.3, ge=0.0, le=1.0, description="Least share of the answer the listed facts cover."
    )


@lru_cache(maxsize=16)
def qa_schema(exchanges: int) -> type[BaseModel]:
    """Build the answer schema ``QaDialogueAnswer``: the facts first (a plan), then ``exchanges`` exchanges."""
    fact = Annotated[str, Field(min_length=1, max_length=80)]
    model: type[BaseModel] = create_model(
        "QaDialogueAnswer",
        __base__=AnswerModel,
        facts=(list[fact], Field(min_length=1, max_length=MAX_FACTS)),
        exchanges=(list[Exchange], Field(min_length=exchanges, max_length=exchanges)),
    )
    return model


class QaToDialogue(Operator[QaDialogueParams]):
    """Turn a question and its answer into a conversation that carries the answer's facts."""

    name = "qa-to-dialogue"
    summary = "a question and its answer become a natural multi-turn dialogue (--turns 3) carrying the answer's facts"
    params_type = QaDialogueParams
    temperature = 0.7
    max_tokens = 900
    needs_style = True

    def refuse(self, parent: Sample, params: QaDialogueParams, pack: StylePack) -> str | None:
        """Take only one question and one answer."""
        problem = super().refuse(parent, params, pack)
        if problem:
            return problem
        if len(parent.turns) != 2:
            exchanges = len(parent.turns) // 2
            return f"it is a dialogue of {exchanges} exchanges, not one question and its answer"
        return None

    def exchanges(self, request: ChildRequest[QaDialogueParams]) -> int:
        """Return the dialogue's length."""
        return request.params.turns

    def criteria(self, pack: StylePack, params: QaDialogueParams) -> list[Criterion]:
        """Judge coherence across the turns too."""
        return with_coherence(list(pack.rubric))

    def variables(self, request: ChildRequest[QaDialogueParams]) -> dict[str, object]:
        """Return the question, the answer and the exchange count."""
        variables = operator_variables(request, self.exchanges(request))
        del variables["original"]
        question, answer = request.parent.turns
        return {**variables, "question": question.content, "answer": answer.content}

    def schema(self, request: ChildRequest[QaDialogueParams]) -> type[DraftAnswer]:
        """Return the facts-then-dialogue schema."""
        return qa_schema(self.exchanges(request))  # type: ignore[return-value]

    def read(self, request: ChildRequest[QaDialogueParams], answer: DraftAnswer) -> tuple[list[Turn], dict[str, Any]]:
        """Return the dialogue; keep the listed facts in the notes."""
        exchanges = getattr(answer, "exchanges", [])
        facts = [fact.strip() for fact in getattr(answer, "facts", []) if fact.strip()]
        return DraftAnswer.model_construct(exchanges=exchanges).turns(), {"facts": facts}

    def contract(self, request: ChildRequest[QaDialogueParams], notes: dict[str, Any]) -> str:
        """Carry the answer's facts; ask the question."""
        question, answer = request.parent.turns
        facts = notes.get("facts") or []
        listed = f" Its replies must state: {'; '.join(facts)}." if facts else ""
        return (
            "This sample turns a question and its answer into a conversation: the first user turn asks the "
            f"question, and the replies together state the answer's facts and numbers, correctly.{listed}\n"
            f"Question: {question.content}\nAnswer: {answer.content}"
        )

    def check(
        self, request: ChildRequest[QaDialogueParams], turns: list[Turn], notes: dict[str, Any], embedder: EmbedderLike
    ) -> list[CheckFailure]:
        """Facts from the answer and in the replies; numbers kept; the question asked."""
        params = request.params
        question, answer = request.parent.turns
        facts = list(notes.get("facts") or [])
        replies = joined(turns, ("assistant",))
        failures = check_phrases_in(
            facts, answer.content, where="the original answer", what="the listed fact", code="not_in_original",
            fix=": list only phrases copied from the answer",
        )  # fmt: skip
        covered = sum(len(normalise(fact)) for fact in facts) / max(1, len(normalise(answer.content)))
        if not failures and covered < params.min_coverage:
            failures.append(
                CheckFailure(
                    "missing",
                    f"the listed facts cover {covered:.0%} of the answer (need {params.min_coverage:.0%}): "
                    "list every rule, number and step of the answer",
                )
            )
        numbers = list(dict.fromkeys(stated_numbers(answer.content)))
        failures += check_phrases_in(facts, replies, where="the replies", what="the answer's fact", fix=": state it")
        failures += check_phrases_in(
            numbers, replies, where="the replies", what="the answer's number", fix=": state it"
        )
        first_user = next((turn.content for turn in turns if turn.role == "user"), "")
        [score] = similarities(embedder, [(question.content, first_user)]) if first_user else [0.0]
        if score < params.min_similarity:
            failures.append(
                CheckFailure(
                    "meaning_changed",
                    f"the first user turn no longer asks the question (similarity {score:.2f}, need at least "
                    f"{params.min_similarity:.2f}): ask '{question.content[:40]}' in the user's words",
                )
            )
        return failures


QA_TO_DIALOGUE = QaToDialogue()
