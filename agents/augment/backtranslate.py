"""The back-translation operator (回译): through a pivot language and back, e.g. 中→英→中.

Two calls of one role (``prompts/operators/backtranslate.md``): the parent into the pivot
language, then the pivot text back into the pack's language. Keeps: the meaning (each turn at
least ``min_similarity`` to its parent turn) and the numbers. Changes: the wording, as
translation changes it (a result identical to the parent, 3-gram overlap at ``max_overlap`` or
more, is a copy). The pivot must really be in the pivot language (checked by script: Latin,
Han, kana, Hangul, Cyrillic); the result must be in the pack's language (the pack's check).
With several pivots (``via: [en, ja]``) a parent's children take them in turn.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any, Literal

from langchain_core.language_models import BaseChatModel
from pydantic import Field

from agents.answers import DraftAnswer, draft_schema
from agents.augment.checks import check_meaning, check_not_copy
from agents.augment.operator import ChildDraft, ChildRequest, Operator, OperatorParams
from agents.augment.paraphrase import numbers_kept
from agents.checks import CheckFailure, EmbedderLike
from agents.rendering import format_dialogue
from agents.role_base import CallOptions, Role
from agents.schemas import Sample, TokenUsage, Turn
from agents.styles import StylePack

Pivot = Literal["en", "zh", "ja", "ko", "fr", "de", "es", "ru"]
LANGUAGES: dict[str, str] = {
    "en": "English",
    "zh": "Simplified Chinese",
    "ja": "Japanese",
    "ko": "Korean",
    "fr": "French",
    "de": "German",
    "es": "Spanish",
    "ru": "Russian",
}
# Which Unicode letters a language is written in (by the start of the letters' names).
SCRIPTS: dict[str, tuple[str, ...]] = {
    "en": ("LATIN",),
    "fr": ("LATIN",),
    "de": ("LATIN",),
    "es": ("LATIN",),
    "zh": ("CJK",),
    "ja": ("HIRAGANA", "KATAKANA", "CJK"),
    "ko": ("HANGUL",),
    "ru": ("CYRILLIC",),
}
MIN_SCRIPT_SHARE = 0.6
TRANSLATE_TEMPERATURE = 0.3


def _english() -> list[Pivot]:
    return ["en"]


class BacktranslateParams(OperatorParams):
    """Parameters of ``backtranslate``."""

    op: Literal["backtranslate"] = "backtranslate"
    via: list[Pivot] = Field(default_factory=_english, min_length=1, max_length=8, description="Pivot languages.")
    min_similarity: float = Field(
        default=0.92, ge=-1.0, le=1.0, description="Least similarity of each turn to its parent turn."
    )
    max_overlap: float = Field(default=0.8, gt=0.0, le=1.0, description="Most 3-gram overlap with the parent (a copy).")


def script_share(text: str, language: str) -> float:
    """Return the share of a text's letters that are written in the language's script."""
    wanted = SCRIPTS[language]
    letters = [unicodedata.name(char, "") for char in text if unicodedata.category(char).startswith("L")]
    if not letters:
        return 0.0
    mine = sum(1 for name in letters if name.removeprefix("FULLWIDTH ").startswith(wanted))
    return mine / len(letters)


@dataclass(frozen=True)
class TranslateRequest:
    """One translation pass."""

    turns: list[Turn]
    source: str
    target: str


class Translator(Role[TranslateRequest, DraftAnswer]):
    """Translates a dialogue, exchange for exchange."""

    prompt_file = "operators/backtranslate"
    temperature = TRANSLATE_TEMPERATURE
    max_tokens = 900

    def variables(self, task: TranslateRequest) -> dict[str, object]:
        """Return the languages, the exchange count and the dialogue."""
        return {
            "from_language": LANGUAGES[task.source],
            "to_language": LANGUAGES[task.target],
            "exchanges": sum(1 for turn in task.turns if turn.role == "assistant"),
            "dialogue": format_dialogue(task.turns),
        }

    def schema(self, task: TranslateRequest) -> type[DraftAnswer]:
        """Return the draft schema with the dialogue's exchange count."""
        return draft_schema(max(1, sum(1 for turn in task.turns if turn.role == "assistant")))

    def options(self, task: TranslateRequest) -> CallOptions:
        """Translate at a low temperature."""
        return CallOptions(temperature=self.temperature, max_tokens=self.max_tokens)


TRANSLATOR = Translator()


class Backtranslate(Operator[BacktranslateParams]):
    """Translate into a pivot language and back."""

    name = "backtranslate"
    summary = "through a pivot language and back (--via en): meaning kept, wording as translation changes it"
    params_type = BacktranslateParams

    def pivot(self, request: ChildRequest[BacktranslateParams]) -> str:
        """Return this child's pivot: the pivots other than the child's language, taken in turn by the children.

        So ``--via en,zh`` sends the Chinese rows of a mixed version through English and the English
        rows through Chinese.
        """
        pivots = [pivot for pivot in request.params.via if pivot != request.pack.language]
        return pivots[request.variant % len(pivots)]

    def refuse(self, parent: Sample, params: BacktranslateParams, pack: StylePack) -> str | None:
        """Refuse dialogues, and rows whose language is the only pivot (there is nothing to translate through)."""
        if all(pivot == pack.language for pivot in params.via):
            other = "zh" if pack.language == "en" else "en"
            return (
                f"it is written in {LANGUAGES[pack.language]}, which is a pivot (--via) and the only one: "
                f"add another, e.g. --via {pack.language},{other}"
            )
        return super().refuse(parent, params, pack)

    def variables(self, request: ChildRequest[BacktranslateParams]) -> dict[str, object]:
        """Return the variables of the first pass (the parent into the pivot)."""
        return TRANSLATOR.variables(TranslateRequest(request.parent.turns, request.pack.language, self.pivot(request)))

    async def draft(self, model: BaseChatModel, request: ChildRequest[BacktranslateParams]) -> ChildDraft:
        """Translate the parent into the pivot, then back into the pack's language."""
        source, pivot = request.pack.language, self.pivot(request)
        there = await TRANSLATOR.ask(model, TranslateRequest(request.parent.turns, source, pivot))
        if there.parsed is None:
            return ChildDraft([], there.raw, there.usage, f"the translation into {LANGUAGES[pivot]}: {there.error}")
        pivot_turns = there.parsed.turns()
        back = await TRANSLATOR.ask(model, TranslateRequest(pivot_turns, pivot, source))
        usage: TokenUsage = there.usage + back.usage
        notes = {"via": pivot, "pivot": format_dialogue(pivot_turns)}
        if back.parsed is None:
            return ChildDraft([], back.raw, usage, f"the translation back: {back.error}", notes)
        return ChildDraft(back.parsed.turns(), back.raw, usage, None, notes)

    def contract(self, request: ChildRequest[BacktranslateParams], notes: dict[str, Any]) -> str:
        """Keep the original's meaning, in the pack's language."""
        return (
            f"This sample is a back-translation (through {LANGUAGES[notes.get('via', self.pivot(request))]}) of "
            "the original dialogue below: every turn must say what the matching original turn says, with its "
            f"facts and numbers, in natural {LANGUAGES[request.pack.language]}, worded differently from the "
            f"original.\nOriginal:\n{format_dialogue(request.parent.turns)}"
        )

    def check(
        self,
        request: ChildRequest[BacktranslateParams],
        turns: list[Turn],
        notes: dict[str, Any],
        embedder: EmbedderLike,
    ) -> list[CheckFailure]:
        """The pivot in its language; meaning and numbers kept; not a copy."""
        params, parent = request.params, request.parent.turns
        failures: list[CheckFailure] = []
        via, pivot_text = notes.get("via"), str(notes.get("pivot", ""))
        if via and pivot_text and script_share(pivot_text, via) < MIN_SCRIPT_SHARE:
            failures.append(
                CheckFailure(
                    "pivot_language",
                    f"the pivot translation is not in {LANGUAGES[via]} ({script_share(pivot_text, via):.0%} of its "
                    f"letters): translate every turn into {LANGUAGES[via]}",
                )
            )
        failures += [*numbers_kept(parent, turns), *check_meaning(embedder, parent, turns, params.min_similarity)]
        copy = check_not_copy(parent, turns, params.max_overlap, change="translate it again and keep that wording")
        return [*failures, *([copy] if copy else [])]


BACKTRANSLATE = Backtranslate()
