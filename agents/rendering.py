"""Turn style packs and dialogues into the text blocks that prompt templates take."""

from __future__ import annotations

from agents.schemas import Turn
from agents.styles import Criterion, StylePack

LANGUAGE_NAMES = {"zh": "Simplified Chinese", "en": "English"}


def format_dialogue(turns: list[Turn]) -> str:
    """Render turns as ``User: ...`` / ``Assistant: ...`` lines."""
    return "\n".join(f"{turn.role.capitalize()}: {turn.content}" for turn in turns)


def format_examples(pack: StylePack) -> str:
    """Render the pack's seed examples as numbered dialogues."""
    blocks = [
        f"Example {index}:\nUser: {example.user}\nAssistant: {example.assistant}"
        for index, example in enumerate(pack.examples, start=1)
    ]
    return "\n\n".join(blocks)


def format_rubric(rubric: list[Criterion]) -> str:
    """Render rubric criteria as a bullet list with pass thresholds."""
    return "\n".join(f"- {criterion.name}: {criterion.description}" for criterion in rubric)


def marker_rule(pack: StylePack) -> str:
    """Describe the required style markers, or nothing when the pack has none."""
    if not pack.markers:
        return ""
    return "Every assistant turn must contain at least one of: " + " / ".join(pack.markers) + "."


def bullet_list(items: list[str], empty: str = "(nothing yet)") -> str:
    """Render items as ``- item`` lines, or a placeholder when there are none."""
    return "\n".join(f"- {item}" for item in items) if items else empty


def style_variables(pack: StylePack) -> dict[str, object]:
    """Return the prompt variables every drafting role takes from the style pack."""
    return {
        "persona": pack.system_prompt,
        "examples": format_examples(pack),
        "language": LANGUAGE_NAMES[pack.language],
        "reply_min": pack.reply_bounds.min_chars,
        "reply_max": pack.reply_bounds.max_chars,
        "user_min": pack.user_bounds.min_chars,
        "user_max": pack.user_bounds.max_chars,
        "marker_rule": marker_rule(pack),
    }
