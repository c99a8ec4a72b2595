"""The rewriter role: repair a failing sample using the exact reasons and feedback."""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage

from agents.prompting import PromptTemplate, role_prompt
from agents.rendering import bullet_list, format_dialogue, style_variables
from agents.schemas import Dialogue, Turn
from agents.structured import StructuredReply, ask_structured
from agents.styles import StylePack

REWRITER_MAX_TOKENS = 450
REWRITER_TEMPERATURE = 0.3


def rewriter_messages(
    pack: StylePack, turns: list[Turn], problems: list[str], template: PromptTemplate | None = None
) -> list[BaseMessage]:
    """Render the rewriter prompt for one failing sample."""
    template = template or role_prompt("rewriter")
    return template.render(
        **style_variables(pack),
        dialogue=format_dialogue(turns) if turns else "(the previous answer could not be read)",
        problems=bullet_list(problems, empty="- (no details given: make it fit the persona better)"),
    )


async def rewrite_dialogue(
    model: BaseChatModel, pack: StylePack, turns: list[Turn], problems: list[str]
) -> StructuredReply[Dialogue]:
    """Ask the rewriter for a repaired dialogue (parsed, or raw text with the error)."""
    messages = rewriter_messages(pack, turns, problems)
    return await ask_structured(
        model, messages, Dialogue, temperature=REWRITER_TEMPERATURE, max_tokens=REWRITER_MAX_TOKENS
    )
