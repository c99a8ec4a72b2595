"""The judge role: score a dialogue against a rubric, 1-5 per criterion, with reasons and feedback."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel, Field, create_model

from agents.prompting import PromptTemplate
from agents.rendering import format_dialogue, format_rubric
from agents.schemas import TokenUsage, Turn, Verdict
from agents.structured import ask_structured
from agents.styles import Criterion

JUDGE_TEMPERATURE = 0.0
JUDGE_MAX_TOKENS = 600


def answer_schema(criteria: list[str]) -> type[BaseModel]:
    """Build the judge's JSON schema: exactly one score per named criterion, reason first."""
    return _answer_schema(tuple(criteria))


@lru_cache(maxsize=128)
def _answer_schema(names: tuple[str, ...]) -> type[BaseModel]:
    """Build (once per rubric) the pydantic model behind :func:`answer_schema`."""
    score_model = create_model(
        "CriterionScore",
        criterion=(Literal[names], ...),  # type: ignore[arg-type]
        reason=(str, Field(max_length=400)),
        score=(int, Field(ge=1, le=5)),
    )
    return create_model(
        "JudgeAnswer",
        scores=(list[score_model], Field(min_length=len(names), max_length=len(names))),
        feedback=(str, Field(max_length=800)),
    )


def to_verdict(answer: BaseModel, rubric: list[Criterion], prompt_name: str, raw: str) -> Verdict:
    """Check a parsed answer against the rubric thresholds."""
    scores: dict[str, int] = {}
    reasons: dict[str, str] = {}
    for item in answer.scores:  # type: ignore[attr-defined]
        scores[item.criterion] = item.score
        reasons[item.criterion] = item.reason
    missing = [criterion.name for criterion in rubric if criterion.name not in scores]
    if missing:
        return failed_verdict(prompt_name, raw, f"judge did not score: {', '.join(missing)}")
    failing = [criterion.name for criterion in rubric if scores[criterion.name] < criterion.threshold]
    return Verdict(
        scores=scores,
        reasons=reasons,
        feedback=answer.feedback,  # type: ignore[attr-defined]
        passed=not failing,
        failing=failing,
        prompt_name=prompt_name,
        raw=raw,
    )


def failed_verdict(prompt_name: str, raw: str, error: str) -> Verdict:
    """Return the verdict of an answer that could not be used: not passed, error kept."""
    return Verdict(scores={}, passed=False, prompt_name=prompt_name, raw=raw, error=error)


async def judge_dialogue(
    model: BaseChatModel,
    template: PromptTemplate,
    rubric: list[Criterion],
    turns: list[Turn],
    persona: str,
) -> tuple[Verdict, TokenUsage]:
    """Score one dialogue; an unparseable answer becomes a failed verdict with its raw text."""
    messages = template.render(
        persona=persona,
        rubric=format_rubric(rubric),
        dialogue=format_dialogue(turns),
        criteria=", ".join(criterion.name for criterion in rubric),
    )
    schema = answer_schema([criterion.name for criterion in rubric])
    reply = await ask_structured(model, messages, schema, temperature=JUDGE_TEMPERATURE, max_tokens=JUDGE_MAX_TOKENS)
    if reply.parsed is None:
        return failed_verdict(template.name, reply.raw, reply.error or "unparseable answer"), reply.usage
    return to_verdict(reply.parsed, rubric, template.name, reply.raw), reply.usage


def problems_from_verdict(verdict: Verdict, rubric: list[Criterion]) -> list[str]:
    """List what the rewriter must fix: each failing criterion with its reason, then the feedback."""
    thresholds = {criterion.name: criterion.threshold for criterion in rubric}
    problems = [
        f"{name} scored {verdict.scores[name]}/5 (needs {thresholds[name]}): {verdict.reasons.get(name, '')}".strip()
        for name in verdict.failing
    ]
    if verdict.error:
        problems.append(f"the judge could not read the sample: {verdict.error}")
    if verdict.feedback:
        problems.append(f"judge feedback: {verdict.feedback}")
    return problems
