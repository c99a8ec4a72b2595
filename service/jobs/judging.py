"""Score dialogues a user sends (their own data) with a style's rubric and a judge prompt."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from langchain_core.language_models import BaseChatModel

from agents.judge_plan import JudgePlan, judge_sample
from agents.schemas import TokenUsage, Turn, Verdict
from agents.styles import StylePack

logger = logging.getLogger(__name__)


async def judge_many(
    model: BaseChatModel,
    plan: JudgePlan,
    pack: StylePack,
    dialogues: Sequence[tuple[list[Turn], str | None]],
) -> tuple[list[Verdict], TokenUsage]:
    """Judge each (turns, persona) pair concurrently; an LLM failure becomes a failed verdict."""

    async def one(turns: list[Turn], persona: str | None) -> tuple[Verdict, TokenUsage]:
        try:
            return await judge_sample(model, plan, pack.rubric, turns, persona or pack.system_prompt)
        except Exception as exc:  # one failed call must not fail the others
            logger.warning("judge call failed: %s", type(exc).__name__)
            error = f"the judge call failed ({type(exc).__name__}); try again"
            return Verdict(scores={}, passed=False, prompt_name=plan.describe(), error=error), TokenUsage()

    answers = await asyncio.gather(*(one(turns, persona) for turns, persona in dialogues))
    usage = TokenUsage()
    for _, spent in answers:
        usage = usage + spent
    return [verdict for verdict, _ in answers], usage
