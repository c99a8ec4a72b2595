"""The generator role: write one new sample in the style, on a topic, away from covered ground."""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage

from agents.prompting import PromptTemplate, role_prompt
from agents.rendering import LANGUAGE_NAMES, bullet_list, format_examples, marker_rule
from agents.schemas import Dialogue
from agents.structured import StructuredReply, ask_structured
from agents.styles import StylePack

GENERATOR_MAX_TOKENS = 700


def generator_messages(
    pack: StylePack, topic: str, avoid: list[str], exchanges: int = 1, template: PromptTemplate | None = None
) -> list[BaseMessage]:
    """Render the generator prompt for one sample."""
    template = template or role_prompt("generator")
    return template.render(
        persona=pack.system_prompt,
        examples=format_examples(pack),
        topic=topic,
        avoid=bullet_list(avoid),
        language=LANGUAGE_NAMES[pack.language],
        reply_min=pack.reply_bounds.min_chars,
        reply_max=pack.reply_bounds.max_chars,
        user_min=pack.user_bounds.min_chars,
        user_max=pack.user_bounds.max_chars,
        marker_rule=marker_rule(pack),
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
