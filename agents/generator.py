"""The generator role: write one new sample in the style, on a topic, away from covered ground."""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage

from agents.prompting import PromptTemplate, role_prompt
from agents.rendering import bullet_list, style_variables
from agents.schemas import Dialogue
from agents.structured import StructuredReply, ask_structured
from agents.styles import StylePack

GENERATOR_MAX_TOKENS = 450


def generator_messages(
    pack: StylePack, topic: str, avoid: list[str], exchanges: int = 1, template: PromptTemplate | None = None
) -> list[BaseMessage]:
    """Render the generator prompt for one sample."""
    template = template or role_prompt("generator")
    return template.render(
        **style_variables(pack),
        topic=topic,
        avoid=bullet_list(avoid),
        exchanges=exchanges,
    )


async def generate_dialogue(
    model: BaseChatModel, pack: StylePack, topic: str, avoid: list[str], exchanges: int = 1
) -> StructuredReply[Dialogue]:
    """Ask the generator for one new dialogue (parsed, or raw text with the error)."""
    messages = generator_messages(pack, topic, avoid, exchanges)
    return await ask_structured(
        model, messages, Dialogue, temperature=pack.temperature, max_tokens=GENERATOR_MAX_TOKENS
    )
