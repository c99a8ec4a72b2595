"""The topic brainstorm role: propose candidate situations for the memory to choose from."""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel, Field

from agents.prompting import role_prompt
from agents.rendering import LANGUAGE_NAMES, bullet_list
from agents.schemas import TokenUsage
from agents.structured import ask_structured
from agents.styles import StylePack

TOPICS_MAX_TOKENS = 600
TOPICS_TEMPERATURE = 1.0
MAX_TOPIC_CHARS = 120


class TopicBatch(BaseModel):
    """The brainstorm's structured answer."""

    topics: list[str] = Field(min_length=1, max_length=20)


def clean_topics(topics: list[str], known: set[str]) -> list[str]:
    """Strip, drop empty, over-long and already known topics, keep first occurrences."""
    cleaned: list[str] = []
    for topic in topics:
        text = topic.strip().strip("-•*").strip()
        if text and len(text) <= MAX_TOPIC_CHARS and text not in known and text not in cleaned:
            cleaned.append(text)
    return cleaned


async def brainstorm_topics(
    model: BaseChatModel, pack: StylePack, used: list[str], count: int = 8
) -> tuple[list[str], TokenUsage, str | None]:
    """Ask for ``count`` new situations; return (topics, usage, error or None)."""
    messages = role_prompt("topics").render(
        persona=pack.system_prompt,
        topic_hint=pack.topic_hint or pack.description,
        language=LANGUAGE_NAMES[pack.language],
        used=bullet_list(used[-40:]),
        count=count,
    )
    reply = await ask_structured(
        model, messages, TopicBatch, temperature=TOPICS_TEMPERATURE, max_tokens=TOPICS_MAX_TOKENS
    )
    if reply.parsed is None:
        return [], reply.usage, reply.error
    return clean_topics(reply.parsed.topics, set(used)), reply.usage, None
