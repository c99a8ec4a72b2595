"""Position bias of a pairwise judge: ask with the replies in both orders and count the flips.

A pairwise judge that is not biased by position gives the same answer when reply A and reply B
swap places (A better becomes B better, a tie stays a tie). The flip rate is the share of pairs
whose answer does not survive the swap; "first" / "second" count which place a flipping judge
favoured. Pairs come from a pairwise set, or from a pointwise set: items the humans rated
differently, paired at random (seeded).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from langchain_core.language_models import BaseChatModel
from pydantic import Field

from agents.answers import AnswerModel
from agents.paths import JUDGE_PROMPTS_DIR
from agents.prompting import load_prompt
from agents.structured import ask_structured
from agents.styles import Criterion

Choice = Literal["A", "B", "tie"]
PAIRWISE_PROMPT = JUDGE_PROMPTS_DIR / "pairwise" / "compare.md"


class PairAnswer(AnswerModel):
    """The pairwise judge's answer: the reason first, then the better reply."""

    reason: str = Field(max_length=200)
    better: Choice


@dataclass(frozen=True)
class Pair:
    """Two replies to one context."""

    context: str
    first: str
    second: str


@dataclass
class PositionReport:
    """Flip counts over the pairs asked in both orders."""

    pairs: int = 0
    flips: int = 0
    favoured_first: int = 0
    favoured_second: int = 0
    unreadable: int = 0

    @property
    def flip_rate(self) -> float:
        """The share of readable pairs whose answer changed with the order."""
        readable = self.pairs - self.unreadable
        return self.flips / readable if readable else float("nan")


def pairs_from_labels(texts: Sequence[str], labels: Sequence[float], count: int, seed: int = 0) -> list[Pair]:
    """Draw ``count`` pairs of items with different human labels (seeded)."""
    rng = random.Random(seed)
    indices = list(range(len(texts)))
    pairs: list[Pair] = []
    for _ in range(count * 20):
        if len(pairs) >= count:
            break
        a, b = rng.sample(indices, 2)
        if labels[a] != labels[b]:
            pairs.append(Pair("", texts[a], texts[b]))
    return pairs


async def ask(model: BaseChatModel, criterion: Criterion, persona: str, context: str, a: str, b: str) -> Choice | None:
    """Ask which of two replies is better; None when the answer is unreadable."""
    messages = load_prompt(PAIRWISE_PROMPT).render(
        persona=persona,
        criterion=f"{criterion.name}: {criterion.description}",
        context=context or "(not available)",
        reply_a=a,
        reply_b=b,
    )
    reply = await ask_structured(model, messages, PairAnswer, temperature=0.0, max_tokens=200)
    return reply.parsed.better if reply.parsed else None


SWAPPED: dict[Choice, Choice] = {"A": "B", "B": "A", "tie": "tie"}


def count_flip(report: PositionReport, forward: Choice | None, backward: Choice | None) -> None:
    """Add one pair asked in both orders to the report."""
    report.pairs += 1
    if forward is None or backward is None:
        report.unreadable += 1
        return
    if SWAPPED[backward] != forward:
        report.flips += 1
        if forward == "A" and backward == "A":
            report.favoured_first += 1
        elif forward == "B" and backward == "B":
            report.favoured_second += 1


async def position_bias(
    model: BaseChatModel, pairs: Sequence[Pair], criterion: Criterion, persona: str, concurrency: int = 4
) -> PositionReport:
    """Ask every pair in both orders (2 calls a pair) and count the answers that flip with the order."""
    import asyncio

    semaphore = asyncio.Semaphore(max(1, concurrency))

    async def both(pair: Pair) -> tuple[Choice | None, Choice | None]:
        async with semaphore:
            forward = await ask(model, criterion, persona, pair.context, pair.first, pair.second)
            backward = await ask(model, criterion, persona, pair.context, pair.second, pair.first)
        return forward, backward

    report = PositionReport()
    for forward, backward in await asyncio.gather(*(both(pair) for pair in pairs)):
        count_flip(report, forward, backward)
    return report
