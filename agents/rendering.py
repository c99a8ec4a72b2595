"""Turn style packs and dialogues into the text blocks that prompt templates take."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from functools import lru_cache

from agents.knowledge.passage import Passage
from agents.paths import CRITERION_NOTES_DIR
from agents.schemas import Turn
from agents.styles import Criterion, StylePack

GROUNDED_NOTE = "grounded"
REFERENCE_HEADER = "Reference passages (the only facts the assistant may state):"
GROUNDING_RULE = (
    "- Ground every reply in the reference passages: state only the rules, fees, numbers, deadlines and steps "
    'that a passage says, and before each reply list in "cited" the ids of the passages it uses.'
)

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


@lru_cache(maxsize=64)
def criterion_note(name: str) -> str:
    """Return the anchored notes shipped for a criterion (``prompts/judge/criteria/<name>.md``), or ""."""
    path = CRITERION_NOTES_DIR / f"{name}.md"
    return path.read_text(encoding="utf-8").rstrip() if path.is_file() else ""


def format_rubric(rubric: list[Criterion], grounded: Collection[str] = ()) -> str:
    """Render rubric criteria as a bullet list, each with its shipped notes (failure anchors).

    Args:
        rubric: The criteria to render.
        grounded: Criteria judged against reference passages: they get the grounding note.
    """
    blocks = []
    for criterion in rubric:
        notes = [criterion_note(criterion.name), criterion_note(GROUNDED_NOTE) if criterion.name in grounded else ""]
        blocks.append("\n".join([f"- {criterion.name}: {criterion.description}", *(note for note in notes if note)]))
    return "\n".join(blocks)


def format_passages(passages: Sequence[Passage]) -> str:
    """Render reference passages as ``[id] text`` lines, or "" when there are none."""
    return "\n".join(f"[{passage.id}] {' '.join(passage.text.split())}" for passage in passages)


def reference_block(passages: Sequence[Passage]) -> str:
    """Render the reference section of a prompt: a header and the passages, or "" without passages."""
    return f"{REFERENCE_HEADER}\n{format_passages(passages)}\n\n" if passages else ""


def grounding_variables(passages: Sequence[Passage]) -> dict[str, object]:
    """Return the prompt variables of a drafting role for a grounded (or ungrounded) sample."""
    return {"passages": reference_block(passages), "grounding_rule": GROUNDING_RULE if passages else ""}


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
