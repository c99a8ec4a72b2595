"""Which judge prompt scores which criterion, and one verdict from one call per prompt.

The prompt that agrees best with human labels differs by criterion (evals/RESULTS.md), so each
criterion is scored by its own prompt: the one its rubric entry names (``prompt:``), else the
measured default for that criterion (:data:`agents.prompting.DEFAULT_CRITERION_PROMPTS`), else
the engine's default prompt. Criteria that share a prompt share a call; a rubric whose criteria
all use one prompt costs one call, as before.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

from langchain_core.language_models import BaseChatModel

from agents.checklist import questions_for
from agents.judge import JudgeOptions, judge_dialogue
from agents.knowledge.passage import Passage
from agents.prompting import PromptTemplate, default_prompt_for, judge_prompt
from agents.schemas import TokenUsage, Turn, Verdict
from agents.styles import Criterion


@dataclass(frozen=True)
class JudgePlan:
    """The judge prompt of each criterion, and how the judge is called."""

    templates: dict[str, PromptTemplate]
    options: JudgeOptions = field(default_factory=JudgeOptions)

    def groups(self, rubric: Sequence[Criterion]) -> list[tuple[PromptTemplate, list[Criterion]]]:
        """Group the rubric's criteria by prompt, in rubric order (one judge call per group)."""
        grouped: dict[str, tuple[PromptTemplate, list[Criterion]]] = {}
        for criterion in rubric:
            template = self.templates[criterion.name]
            grouped.setdefault(template.digest, (template, []))[1].append(criterion)
        return list(grouped.values())

    def digests(self) -> dict[str, str]:
        """Return ``{"judge/<prompt>": digest}`` for every prompt used, for lineage."""
        return {f"judge/{template.name}": template.digest for template in self.templates.values()}

    def describe(self) -> str:
        """Return ``criterion=prompt`` pairs, e.g. ``empathy=anchored, correctness=reason-then-score``."""
        return ", ".join(f"{name}={template.name}" for name, template in self.templates.items())


def plan_for(
    rubric: Sequence[Criterion],
    override: str | None = None,
    *,
    allow_path: bool = False,
    options: JudgeOptions | None = None,
) -> JudgePlan:
    """Choose each criterion's judge prompt: ``override`` for all, else its own, else the measured default.

    A checklist ``override`` applies to the criteria it has questions for; the others keep theirs.

    Raises:
        PromptError: a named prompt does not exist (the message lists the known ones).
    """
    forced = judge_prompt(override, allow_path=allow_path) if override else None
    names: dict[str, str] = {}
    for criterion in rubric:
        covered = forced is not None and (forced.checklist is None or criterion.name in forced.checklist.criteria)
        names[criterion.name] = (
            override if covered and override else criterion.prompt or default_prompt_for(criterion.name)
        )
    loaded = {name: judge_prompt(name, allow_path=allow_path) for name in set(names.values())}
    for criterion_name, name in names.items():
        checklist = loaded[name].checklist
        if checklist is not None:
            questions_for(checklist, criterion_name, name)
    return JudgePlan({key: loaded[name] for key, name in names.items()}, options or JudgeOptions())


def merge_verdicts(parts: Sequence[Verdict], rubric: Sequence[Criterion]) -> Verdict:
    """Combine the verdicts of several calls on disjoint parts of one rubric into one verdict."""
    if len(parts) == 1:
        return parts[0]
    order = [criterion.name for criterion in rubric]
    failing = {name for part in parts for name in part.failing}
    errors = [part.error for part in parts if part.error]
    return Verdict(
        scores={name: score for part in parts for name, score in part.scores.items()},
        weighted={name: value for part in parts for name, value in part.weighted.items()},
        scoring="weighted" if all(part.scoring == "weighted" for part in parts) else "sampled",
        reasons={name: reason for part in parts for name, reason in part.reasons.items()},
        unsupported_claims=[claim for part in parts for claim in part.unsupported_claims],
        feedback=" ".join(part.feedback for part in parts if part.feedback),
        passed=all(part.passed for part in parts),
        failing=[name for name in order if name in failing],
        prompt_name="+".join(dict.fromkeys(part.prompt_name for part in parts)),
        raw="\n".join(part.raw or "" for part in parts),
        error="; ".join(errors) if errors else None,
    )


async def judge_sample(
    model: BaseChatModel,
    plan: JudgePlan,
    rubric: list[Criterion],
    turns: list[Turn],
    persona: str,
    *,
    passages: Sequence[Passage] = (),
    grounded: frozenset[str] = frozenset(),
) -> tuple[Verdict, TokenUsage]:
    """Score a dialogue on the whole rubric: one call per prompt of the plan, run concurrently."""
    answers = await asyncio.gather(
        *(
            judge_dialogue(
                model, template, criteria, turns, persona, passages=passages, grounded=grounded, options=plan.options
            )
            for template, criteria in plan.groups(rubric)
        )
    )
    usage = TokenUsage()
    for _, spent in answers:
        usage = usage + spent
    return merge_verdicts([verdict for verdict, _ in answers], rubric), usage
