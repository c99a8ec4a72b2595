"""``refusals``: find replies that refuse or recite policy boilerplate, in Chinese and English.

Seed 004 counts such replies at about 30% of logged AI answers ("我无法回答这个问题，因为它涉及到个人
隐私。"). ``refusals`` (mode ``drop``) removes those rows; ``refusals:rewrite`` sends them through the
rewriter -> check -> judge loop in a chosen style (``graph.cleaning.llm_operators``), keeping the
original in the row's lineage. Patterns are matched on the assistant turns only: a user who writes
"作为一个AI你怎么看" is not a refusal.
"""

from __future__ import annotations

import re
from functools import cached_property
from typing import Literal

from pydantic import Field

from agents.schemas import Sample
from graph.cleaning.base import KEEP, Decision, Drop, Operator, OperatorParams, RowOperator

DEFAULT_PATTERNS: tuple[str, ...] = (
    r"作为一个?(?:人工智能|AI|ai|语言模型|大模型|AI助手|智能助手|虚拟助手)",
    r"我(?:只是)?一个?(?:人工智能|AI|语言模型)(?:助手|模型)?[，,]?(?:无法|不能|没有)",
    r"(?:我|本助手)(?:无法|不能|不便|没办法|没有办法)(?:回答|提供|回复|协助|帮助你?|讨论|处理|满足)(?:这个|该|此|您的|你的)?",
    r"(?:抱歉|对不起|很遗憾)[，,]?\s*我(?:无法|不能|不可以)",
    r"(?:涉及|违反)(?:到)?(?:个人隐私|敏感|政策|法律法规|相关规定)[，,。]?(?:我|因此|所以)?(?:无法|不能)",
    r"\bAs an AI(?: language model| assistant| model)?\b",
    r"\bI(?:'m| am) (?:just )?an AI\b",
    r"\bI(?:'m| am) (?:sorry|afraid),? (?:but )?I (?:can(?:'|no)t|cannot|am unable to|won't) "
    r"(?:help|assist|provide|answer|do|comply)",
    r"\bI (?:can(?:'|no)t|cannot|am unable to|am not able to) "
    r"(?:help with|assist with|provide|answer|comply with|fulfill) (?:that|this|your)",
    r"\bI(?:'m| am) not able to (?:help|assist|provide|answer)",
    r"\bagainst (?:my|OpenAI'?s?) (?:guidelines|policy|policies|programming)\b",
)


class RefusalsParams(OperatorParams):
    """Parameters of ``refusals``."""

    mode: Literal["drop", "rewrite"] = Field(default="drop", description="Drop refusals, or rewrite them in a style.")
    patterns: list[str] = Field(default_factory=lambda: list(DEFAULT_PATTERNS), description="Regular expressions.")
    style: str | None = Field(default=None, description="Style pack for mode rewrite (the CLI's --style).")
    max_rewrites: int = Field(
        default=2, ge=1, le=10, description="Rewrites per row (mode rewrite) before it is dropped."
    )


class RefusalDetector:
    """The compiled refusal patterns."""

    def __init__(self, patterns: list[str]) -> None:
        """Compile the patterns into one expression."""
        self.pattern = re.compile("|".join(f"(?:{pattern})" for pattern in patterns), re.I)

    def find(self, sample: Sample) -> str | None:
        """Return the refusal phrase of the first refusing reply, or None."""
        for turn in sample.turns:
            if turn.role == "assistant":
                match = self.pattern.search(turn.content)
                if match:
                    return match.group()
        return None


class Refusals(RowOperator):
    """Drop rows whose reply refuses or recites AI policy boilerplate."""

    name = "refusals"
    summary = "Refusals and AI boilerplate (我无法回答 / As an AI language model): drop, or :rewrite in a style."
    Params = RefusalsParams
    params: RefusalsParams
    shorthand = "mode"

    @classmethod
    def implementation(cls, params: OperatorParams) -> type[Operator]:
        """Return the rewriting operator for ``mode: rewrite``."""
        if isinstance(params, RefusalsParams) and params.mode == "rewrite":
            from graph.cleaning.operators.refusal_rewrite import RefusalRewrite

            return RefusalRewrite
        return cls

    @cached_property
    def detector(self) -> RefusalDetector:
        """Return the compiled patterns."""
        return RefusalDetector(self.params.patterns)

    def decide(self, sample: Sample) -> Decision:
        """Drop a row with a refusing reply."""
        phrase = self.detector.find(sample)
        return Drop("refusal", f"reply refuses: '{phrase}'") if phrase else KEEP
