r"""``normalize``: Unicode and whitespace repair that keeps emoji and kaomoji.

Seed 001's ``re.sub(r'[^\w\s\u4e00-\u9fa5]', '', text)`` deletes every symbol, so it turns
"(^_−)☆" into "_" and "好的呀~😊" into "好的呀": the very marks that carry the gentle and snarky
styles. This operator never deletes a symbol. It:

- composes characters (NFC) everywhere, and applies NFKC only to letters and digits, so
  full-width ``ＡＢＣ１２３`` become ``ABC123`` and ligatures unfold, while punctuation, symbols and
  emoji keep their exact code points (NFKC would rewrite ``｡`` to ``。`` and ``´`` to a space plus
  an accent, breaking "(｡•́︿•̀｡)" and "(´・ω・`)"); Chinese full-width punctuation (，。！) stays;
- repairs mojibake with ``ftfy`` (``æ‰‹æœº`` -> ``手机``; its other fixes, which would touch
  quotes and widths, are off);
- removes zero-width and control characters (but keeps the zero-width joiner and variation
  selectors that emoji sequences need), trims each turn and its lines' ends, collapses runs of
  spaces inside a line (indentation stays: code keeps its shape) and more than ``max_newlines``
  newlines;
- optionally converts Traditional to Simplified Chinese with OpenCC (``t2s``).
"""

from __future__ import annotations

import re
import unicodedata
from functools import cached_property, lru_cache
from typing import Any

import ftfy
from pydantic import Field

from graph.cleaning.base import OperatorParams
from graph.cleaning.text import TextEditOperator

_INVISIBLE = re.compile(r"[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u200b\u200c\u200e\u200f\u2060\ufeff]")
_INNER_SPACES = re.compile(r"(?<=\S)[ \t\u00a0]{2,}(?=\S)")
_TRAILING_SPACES = re.compile(r"[ \t\u00a0\u3000]+(?=\n)")
_TRAILING_TRIGGERS = (" \n", "\t\n", "\u00a0\n", "\u3000\n")
_FTFY = ftfy.TextFixerConfig(
    unescape_html=False,
    remove_terminal_escapes=True,
    fix_encoding=True,
    restore_byte_a0=True,
    replace_lossy_sequences=True,
    decode_inconsistent_utf8=True,
    fix_c1_controls=True,
    fix_latin_ligatures=False,
    fix_character_width=False,
    uncurl_quotes=False,
    fix_line_breaks=True,
    fix_surrogates=True,
    remove_control_chars=False,
    normalization=None,
    explain=False,
)


class NormalizeParams(OperatorParams):
    """Parameters of ``normalize``."""

    unicode: bool = Field(
        default=True, description="NFC everywhere, NFKC for letters and digits (full-width -> ASCII)."
    )
    mojibake: bool = Field(default=True, description="Repair mis-decoded text with ftfy.")
    whitespace: bool = Field(default=True, description="Trim, drop invisible characters, collapse spaces.")
    max_newlines: int = Field(default=2, ge=1, le=10, description="Longest run of newlines kept.")
    traditional_to_simplified: bool = Field(default=False, description="Convert Traditional Chinese (OpenCC t2s).")


_MATH_ALPHANUMERICS = re.compile("[\U0001d400-\U0001d7ff]")
_MAYBE_MOJIBAKE = re.compile("[\x1b\x80-\u024f\u0370-\u052f\u2028\u2029\u2200-\u22ff\ufffd\ud800-\udfff]")
"""Every character ftfy's repairs start from (UTF-8 read as Latin-1, cp1252, cp1250-1254, MacRoman or cp437,
C1 controls, terminal escapes, surrogates, lossy U+FFFD): text without one is left alone by ftfy anyway."""


@lru_cache(maxsize=1)
def _foldable() -> tuple[re.Pattern[str], dict[int, str]]:
    """Return a detector of the letters and digits that NFKC turns into other letters or digits, and their folds.

    The detector is a class of BMP characters only (the regex engine tests it with one bitmap
    lookup a character; mixed with astral characters it would test thousands of ranges); the
    mathematical alphanumerics outside the BMP are one range, tested separately.
    """
    table: dict[int, str] = {}
    for code in (*range(0x80, 0x10000), *range(0x1D400, 0x1D800)):
        char = chr(code)
        if unicodedata.category(char)[0] in "LN":
            folded = unicodedata.normalize("NFKC", char)
            if folded != char and folded.isalnum():
                table[code] = folded
    detector = re.compile("[" + "".join(re.escape(chr(code)) for code in table if code < 0x10000) + "]")
    return detector, table


def fold_letters_and_digits(text: str) -> str:
    """Apply NFC, then NFKC to letters and digits only (symbols, punctuation and emoji untouched)."""
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    detector, table = _foldable()
    if detector.search(text) or _MATH_ALPHANUMERICS.search(text):
        return text.translate(table)
    return text


class Normalize(TextEditOperator):
    """Unicode, mojibake and whitespace repair that keeps emoji and kaomoji."""

    name = "normalize"
    summary = "Unicode (NFKC for letters/digits only), mojibake (ftfy), whitespace; keeps emoji and kaomoji."
    Params = NormalizeParams
    params: NormalizeParams

    @cached_property
    def _newlines(self) -> re.Pattern[str]:
        return re.compile("\n{" + str(self.params.max_newlines + 1) + ",}")

    @cached_property
    def _opencc(self) -> Any:
        import opencc

        return opencc.OpenCC("t2s")

    def _spaced(self, text: str) -> str:
        """Return the text trimmed, without invisible characters, runs of spaces or of newlines.

        Each substitution runs only when a plain substring test finds its trigger: most turns
        have none, and the regular expressions (with look-arounds) cost more than the tests.
        """
        text = _INVISIBLE.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
        if "  " in text or "\t" in text or "\u00a0" in text:
            text = _INNER_SPACES.sub(" ", text)
        if any(trigger in text for trigger in _TRAILING_TRIGGERS):
            text = _TRAILING_SPACES.sub("", text)
        if self._too_many_newlines in text:
            text = self._newlines.sub("\n" * self.params.max_newlines, text)
        return text.strip()

    @cached_property
    def _too_many_newlines(self) -> str:
        return "\n" * (self.params.max_newlines + 1)

    def edit(self, text: str) -> tuple[str, set[str]]:
        """Return the normalized text and which repairs changed it."""
        codes: set[str] = set()
        params = self.params
        if params.mojibake and _MAYBE_MOJIBAKE.search(text):
            fixed = ftfy.fix_text(text, _FTFY)
            if fixed != text:
                codes.add("mojibake")
                text = fixed
        if params.unicode and not text.isascii():
            folded = fold_letters_and_digits(text)
            if folded != text:
                codes.add("unicode")
                text = folded
        if params.whitespace:
            spaced = self._spaced(text)
            if spaced != text:
                codes.add("whitespace")
                text = spaced
        if params.traditional_to_simplified and not text.isascii():
            simplified = self._opencc.convert(text)
            if simplified != text:
                codes.add("t2s")
                text = simplified
        return text, codes
