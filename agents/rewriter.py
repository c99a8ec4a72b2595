"""The rewriter role: repair a failing sample using the exact reasons and feedback."""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage

from agents.answers import DraftAnswer, draft_schema, exchange_count
from agents.generator import GENERATOR_MAX_TOKENS, GROUNDED_MAX_TOKENS
from agents.knowledge.passage import Passage
from agents.prompting import PromptTemplate, role_prompt
from agents.rendering import bullet_list, format_dialogue, grounding_variables, style_variables
from agents.schemas import Turn
from agents.structured import StructuredReply, ask_structured
from agents.styles import StylePack

REWRITER_TEMPERATURE = 0.3


def rewriter_messages(
    pack: StylePack,
    turns: list[Turn],
    problems: list[str],
    template: PromptTemplate | None = None,
    passages: Sequence[Passage] = (),
) -> list[BaseMessage]:
    """Render the rewriter prompt for one failing sample."""
    template = template or role_prompt("rewriter")
    return template.render(
        **style_variables(pack),
        **grounding_variables(passages),
        dialogue=format_dialogue(turns) if turns else "(the previous answer could not be read)",
        problems=bullet_list(problems, empty="- (no details given: make it fit the persona better)"),
    )


async def rewrite_dialogue(
    model: BaseChatModel,
    pack: StylePack,
    turns: list[Turn],
    problems: list[str],
    *,
    exchanges: int | None = None,
    passages: Sequence[Passage] = (),
) -> StructuredReply[DraftAnswer]:
    """Ask the rewriter for a repaired dialogue with as many exchanges as the sample has.

    Args:
        model: The rewriter's chat model.
        pack: The style pack.
        turns: The failing sample (empty when its answer could not be read).
        problems: What to fix.
        exchanges: The exchange count when ``turns`` is empty (else counted from ``turns``).
        passages: The sample's reference passages (grounded samples).
    """
    count = exchange_count(turns) if turns else (exchanges or 1)
    messages = rewriter_messages(pack, turns, problems, passages=passages)
    return await ask_structured(
        model,
        messages,
        draft_schema(count, tuple(passage.id for passage in passages)),
        temperature=REWRITER_TEMPERATURE,
        max_tokens=GROUNDED_MAX_TOKENS if passages else GENERATOR_MAX_TOKENS,
    )
