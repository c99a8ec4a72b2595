"""``refusals:rewrite``: send each refusing dialogue through the rewriter -> check -> judge loop in a style.

Seed 004 rewrites logged refusals by hand: "我无法回答这个问题，因为它涉及到个人隐私。" becomes
"我理解你的好奇心，但这个问题涉及到个人隐私。也许我们可以聊聊别的有趣话题？". Here the rewriter
gets the refusal as the problem to fix (keep a boundary that protects someone, but in the
persona's voice, and offer something instead), then the row passes the generation checks and
the judge exactly as a generated sample does (``graph.builder.build_repair_graph``). The row
keeps its id; its attempts keep the original (kind ``source``), every rewrite and the verdicts.
A row the loop cannot repair (or whose reply still refuses) is dropped with the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from functools import cached_property
from typing import Any

from agents.schemas import Attempt, Sample
from graph.builder import build_repair_graph, recursion_limit
from graph.cleaning.base import KEEP, Change, Decision, Drop, LLMOperator
from graph.cleaning.llm import LLMTools, bounded_map
from graph.cleaning.operators.refusals import RefusalDetector, Refusals, RefusalsParams

PROBLEM = (
    "the reply refuses or recites AI boilerplate ({phrase!r}): rewrite it in the persona's own voice. "
    "Keep any boundary that protects someone (privacy, safety), but say it warmly and naturally, "
    "never as 'an AI', and offer what you can talk about or do instead."
)


class RefusalRewrite(LLMOperator):
    """Rewrite refusing replies in a style through the repair loop; drop what cannot be repaired."""

    name = Refusals.name
    summary = Refusals.summary
    Params = RefusalsParams
    params: RefusalsParams
    shorthand = Refusals.shorthand

    def __init__(self, params: RefusalsParams, tools: LLMTools) -> None:
        """Keep the parameters and the loop's dependencies (the style is checked when the graph is built)."""
        super().__init__(params)
        self.tools = tools

    @cached_property
    def detector(self) -> RefusalDetector:
        """Return the compiled patterns."""
        return RefusalDetector(self.params.patterns)

    @cached_property
    def _graph(self) -> tuple[Any, int]:
        assert self.params.style is not None, "registry.ChainSpec.with_style checks the style"
        deps = self.tools.deps(self.params.style)
        deps = replace(deps, config=replace(deps.config, max_rewrites=self.params.max_rewrites))
        return build_repair_graph(deps), recursion_limit(deps)

    async def decide_batch(self, samples: Sequence[Sample]) -> list[Decision]:
        """Keep rows without a refusal; rewrite the others (bounded concurrency)."""
        return await bounded_map(samples, self._decide, self.tools.concurrency)

    async def _decide(self, sample: Sample) -> Decision:
        phrase = self.detector.find(sample)
        if phrase is None:
            return KEEP
        graph, limit = self._graph
        problem = PROBLEM.format(phrase=phrase)
        state = {
            "sample_id": sample.id,
            "topic": "",
            "turns": sample.turns,
            "attempts": [Attempt(kind="source", turns=sample.turns, check_failures=[problem])],
            "problems": [problem],
            "failure_code": "refusal",
            "rewrites": 0,
            "usage": {},
        }
        final = await graph.ainvoke(state, config={"recursion_limit": limit})
        if final.get("status") != "accepted":
            return Drop("refusal_not_repaired", f"the rewrite loop gave up: {final.get('reject_reason') or 'failed'}")
        turns = final["turns"]
        still = self.detector.find(sample.model_copy(update={"turns": turns}))
        if still is not None:
            return Drop("refusal_not_repaired", f"the rewritten reply still refuses: '{still}'")
        return Change(turns=turns, what="rewritten", attempts=tuple(final["attempts"]))
