"""``judge`` (optional, costs one LLM call a row): score every row with a style pack's rubric, drop below a bar.

The judge is generation's (``agents.judge_plan.judge_sample``: the pack's rubric, 1-5 per criterion
with reasons). Every scored row gets an attempt of kind ``judge`` carrying the verdict, so
``Sample.verdict.scores`` holds the scores and the QC report can plot them; a row below the bar
(by default the pack's thresholds, or a mean score under ``min_mean``) is dropped with the
failing criteria. An answer the judge model garbles keeps the row, unscored, and is counted.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING

from pydantic import Field

from agents.schemas import Attempt, Sample
from graph.cleaning.base import Change, Decision, Drop, Flag, LLMOperator, OperatorParams
from graph.cleaning.llm import LLMTools, bounded_map

if TYPE_CHECKING:
    from graph.nodes import LoopDeps


class JudgeParams(OperatorParams):
    """Parameters of ``judge``."""

    style: str | None = Field(default=None, description="Style pack whose rubric scores the rows (the CLI's --style).")
    prompt: str | None = Field(default=None, max_length=64, description="Judge prompt name (default: the default).")
    min_mean: float | None = Field(
        default=None, ge=1.0, le=5.0, description="Drop below this mean score (default: the pack's thresholds)."
    )
    drop: bool = Field(default=True, description="Drop rows below the bar (false: only store the scores).")


class Judge(LLMOperator):
    """Score rows with the judge and a pack's rubric; store the verdicts; drop rows below the bar."""

    name = "judge"
    summary = "LLM judge with a pack's rubric (1 call a row): scores stored on the rows, drops below a bar."
    Params = JudgeParams
    params: JudgeParams
    shorthand = "style"

    def __init__(self, params: JudgeParams, tools: LLMTools) -> None:
        """Keep the parameters and the loop's dependencies."""
        super().__init__(params)
        self.tools = tools

    @cached_property
    def _deps(self) -> LoopDeps:
        assert self.params.style is not None, "registry.ChainSpec.with_style checks the style"
        return self.tools.deps(self.params.style, self.params.prompt)

    async def decide_batch(self, samples: Sequence[Sample]) -> list[Decision]:
        """Judge every row (bounded concurrency)."""
        return await bounded_map(samples, self._decide, self.tools.concurrency)

    async def _decide(self, sample: Sample) -> Decision:
        from agents.judge_plan import judge_sample  # LangChain: loaded only when a chain judges

        deps = self._deps
        pack = deps.pack
        verdict, _usage = await judge_sample(
            deps.models.judge, deps.judge_plan, pack.rubric, sample.turns, pack.system_prompt
        )
        if verdict.error:
            return Flag("judge_unreadable", f"the judge's answer could not be read: {verdict.error}")
        scored = Change(
            turns=sample.turns, what="scored", attempts=(Attempt(kind="judge", turns=sample.turns, verdict=verdict),)
        )
        mean = sum(verdict.scores.values()) / max(1, len(verdict.scores))
        if self.params.min_mean is not None:
            below = mean < self.params.min_mean
            detail = f"mean score {mean:.2f} < {self.params.min_mean}"
        else:
            below = not verdict.passed
            detail = "below the rubric on " + ", ".join(f"{name} {verdict.scores[name]}" for name in verdict.failing)
        if below and self.params.drop:
            return Drop("judge_below_bar", detail)
        return scored
