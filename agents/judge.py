"""The judge role: score a dialogue against a rubric, 1-5 per criterion, with reasons and feedback.

One call scores the criteria that share a judge prompt; :mod:`agents.judge_plan` runs one call
per prompt when the rubric's criteria name different prompts, and merges the verdicts. Each call
asks for log-probabilities too, so the verdict carries the sampled and the probability-weighted
score of every criterion (when the endpoint returns them) from the same call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from langchain_core.language_models import BaseChatModel

from agents.answers import GroundedCriterionScore, JudgeAnswer, judge_schema
from agents.checklist import judge_checklist
from agents.knowledge.passage import Passage
from agents.prompting import PromptError, PromptTemplate
from agents.rendering import format_dialogue, format_rubric, reference_block
from agents.schemas import TokenUsage, Turn, Verdict
from agents.structured import ask_structured
from agents.styles import Criterion
from agents.weighted import TOP_LOGPROBS, weighted_scores

JUDGE_TEMPERATURE = 0.0
JUDGE_MAX_TOKENS = 900
Scoring = Literal["sampled", "weighted"]


@dataclass(frozen=True)
class JudgeOptions:
    """How the judge is called and which score decides.

    Attributes:
        scoring: ``sampled`` (the score the model wrote) or ``weighted`` (the expectation over the
            score tokens' probabilities, rounded, decides pass/fail; sampled when an answer has no
            logprobs).
        logprobs: Ask for log-probabilities (weighted scores are then recorded either way).
        temperature: Sampling temperature of the judge call.
        seed: Sampling seed (self-consistency draws differ by seed), None for the server's.
    """

    scoring: Scoring = "sampled"
    logprobs: bool = True
    temperature: float = JUDGE_TEMPERATURE
    seed: int | None = None


def passes(criterion: Criterion, sampled: int, weighted: float | None, scoring: Scoring) -> bool:
    """Tell whether a criterion passes: a weighted score passes when it rounds to the threshold."""
    if scoring == "weighted" and weighted is not None:
        return weighted >= criterion.threshold - 0.5
    return sampled >= criterion.threshold


def to_verdict(
    answer: JudgeAnswer,
    rubric: list[Criterion],
    prompt_name: str,
    raw: str,
    weighted: dict[str, float] | None = None,
    scoring: Scoring = "sampled",
) -> Verdict:
    """Check a parsed answer (one judgement per criterion, by construction) against the thresholds."""
    judgements = answer.judgements()
    weighted = weighted or {}
    scores = {criterion.name: judgements[criterion.name].score for criterion in rubric}
    claims = [
        claim.strip()
        for judgement in judgements.values()
        if isinstance(judgement, GroundedCriterionScore)
        for claim in judgement.unsupported_claims
        if claim.strip()
    ]
    used: Scoring = "weighted" if scoring == "weighted" and all(c.name in weighted for c in rubric) else "sampled"
    failing = [c.name for c in rubric if not passes(c, scores[c.name], weighted.get(c.name), used)]
    return Verdict(
        scores=scores,
        weighted={name: weighted[name] for name in scores if name in weighted},
        scoring=used,
        reasons={name: judgements[name].reason for name in scores},
        unsupported_claims=claims,
        feedback=answer.feedback_text(),
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
    *,
    passages: Sequence[Passage] = (),
    grounded: frozenset[str] = frozenset(),
    options: JudgeOptions = JudgeOptions(),
) -> tuple[Verdict, TokenUsage]:
    """Score one dialogue in one call; an unparseable answer becomes a failed verdict with its raw text.

    Args:
        model: The judge's chat model.
        template: The judge prompt.
        rubric: The criteria this call scores.
        turns: The dialogue.
        persona: The persona the assistant should speak in.
        passages: Reference passages (a grounded sample's retrieved passages).
        grounded: Criteria judged against the passages (they quote unsupported claims).
        options: Scoring, logprobs, temperature, seed.

    A checklist prompt (:mod:`agents.checklist`) asks its yes/no questions instead, one call each.

    Raises:
        PromptError: passages were given to a prompt without a ``$reference`` slot (or to a
            checklist for a grounded criterion).
    """
    names = [criterion.name for criterion in rubric]
    grounded = frozenset(grounded & set(names)) if passages else frozenset()
    if template.checklist is not None:
        if grounded:
            raise PromptError(f"checklist prompt {template.name} cannot judge {sorted(grounded)} against passages")
        return await judge_checklist(model, template, rubric, turns)
    values: dict[str, object] = {
        "persona": persona,
        "rubric": format_rubric(rubric, grounded),
        "dialogue": format_dialogue(turns),
        "criteria": ", ".join(names),
    }
    if "reference" in template.variables:
        values["reference"] = reference_block(passages)
    elif passages:
        raise PromptError(f"judge prompt {template.name} has no $reference slot for the knowledge passages")
    reply = await ask_structured(
        model,
        template.render(**values),
        judge_schema(names, grounded),
        temperature=options.temperature,
        max_tokens=JUDGE_MAX_TOKENS,
        top_logprobs=TOP_LOGPROBS if options.logprobs else None,
        seed=options.seed,
    )
    if reply.parsed is None:
        return failed_verdict(template.name, reply.raw, reply.error or "unparseable answer"), reply.usage
    weighted = weighted_scores(reply.raw, reply.logprobs, names)
    return to_verdict(reply.parsed, rubric, template.name, reply.raw, weighted, options.scoring), reply.usage


def problems_from_verdict(verdict: Verdict, rubric: list[Criterion]) -> list[str]:
    """List what the rewriter must fix: each failing criterion with its reason, quoted claims, feedback."""
    thresholds = {criterion.name: criterion.threshold for criterion in rubric}
    problems = [
        f"{name} scored {verdict.scores[name]}/5 (needs {thresholds[name]}): {verdict.reasons.get(name, '')}".strip()
        for name in verdict.failing
    ]
    problems += [f"not supported by the passages: '{claim}' (remove it or state what a passage says)"
                 for claim in verdict.unsupported_claims]  # fmt: skip
    if verdict.error:
        problems.append(f"the judge could not read the sample: {verdict.error}")
    if verdict.feedback:
        problems.append(f"judge feedback: {verdict.feedback}")
    return problems
