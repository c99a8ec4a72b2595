"""The generator role: write one new sample in the style, on a topic, away from covered ground."""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage

from agents.answers import DraftAnswer, draft_schema
from agents.knowledge.passage import Passage
from agents.prompting import PromptTemplate, role_prompt
from agents.rendering import bullet_list, grounding_variables, style_variables
from agents.structured import StructuredReply, ask_structured
from agents.styles import StylePack

GENERATOR_MAX_TOKENS = 450
GROUNDED_MAX_TOKENS = 650  # a grounded reply quotes rules and steps, and cites


def generator_messages(
    pack: StylePack,
    topic: str,
    avoid: list[str],
    exchanges: int = 1,
    template: PromptTemplate | None = None,
    passages: Sequence[Passage] = (),
) -> list[BaseMessage]:
    """Render the generator prompt for one sample (with the reference passages of a grounded one)."""
    template = template or role_prompt("generator")
    return template.render(
        **style_variables(pack),
        **grounding_variables(passages),
        topic=topic,
        avoid=bullet_list(avoid),
        exchanges=exchanges,
    )


async def generate_dialogue(
    model: BaseChatModel,
    pack: StylePack,
    topic: str,
    avoid: list[str],
    exchanges: int = 1,
    passages: Sequence[Passage] = (),
) -> StructuredReply[DraftAnswer]:
    """Ask the generator for one new dialogue of ``exchanges`` exchanges (parsed, or raw text with the error)."""
    messages = generator_messages(pack, topic, avoid, exchanges, passages=passages)
    return await ask_structured(
        model,
        messages,
        draft_schema(exchanges, tuple(passage.id for passage in passages)),
        temperature=pack.temperature,
        max_tokens=GROUNDED_MAX_TOKENS if passages else GENERATOR_MAX_TOKENS,
    )
