"""``repetition``: garbage text: repeated characters, words or sentences, too many special characters, truncation.

After datatrove's Gopher repetition and quality filters, adapted to Chinese (no word spaces, so
the repeated-"word" test counts character n-grams): a run of one character longer than
``max_char_run`` ("啊啊啊啊啊啊啊啊啊啊啊"; "哈哈哈" and "~~~" are well below it), a share of
duplicated sentences, a share of the text covered by repeats of its most frequent 4-gram, and the
share of characters that are neither letters, digits, spaces, common punctuation nor emoji.
Kaomoji are symbols and punctuation, so the special-character bound is generous. A reply that ends
inside a sentence (on a comma, a connective, or an unclosed code fence) is ``truncated``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import cached_property, lru_cache

from pydantic import Field

from agents.schemas import Sample
from graph.cleaning.base import KEEP, Decision, Drop, OperatorParams, RowOperator
from graph.cleaning.shingles import top_ngram_shares

_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
_TAIL_CHARS = 8
_SENTENCE_SPLIT = re.compile(r"(?<=[。！？!?.…\n])")
_TRUNCATED_END = re.compile(
    r"(?:[，,、：:；;（(“\"'《【\-]|\b(?:and|or|but|the|to|of)|(?:和|或者|但是|因为|所以|以及|并且|而且|然后|还有|比如))\s*$",
    re.I,
)


class RepetitionParams(OperatorParams):
    """Parameters of ``repetition``."""

    max_char_run: int = Field(default=10, ge=2, description="Longest run of one repeated character.")
    max_duplicate_sentence_share: float = Field(default=0.5, gt=0.0, le=1.0)
    max_top_ngram_share: float = Field(default=0.4, gt=0.0, le=1.0, description="Text covered by one 4-gram's repeats.")
    max_special_share: float = Field(default=0.4, gt=0.0, le=1.0, description="Characters that are not text.")
    min_chars_for_ratios: int = Field(default=30, ge=1, description="Shorter turns skip the share tests.")
    truncated: bool = Field(default=True, description="Drop a row whose last reply ends mid-sentence.")


def _is_special(char: str) -> bool:
    category = unicodedata.category(char)
    return not (char.isalnum() or char.isspace() or category[0] == "P" or category == "So")


@lru_cache(maxsize=1)
def _special_bmp() -> re.Pattern[str]:
    """Return a class of the BMP's special characters (one bitmap lookup a character for the regex engine)."""
    ranges: list[str] = []
    start = None
    for code in range(0x10001):
        special = code < 0x10000 and _is_special(chr(code))
        if special and start is None:
            start = code
        elif not special and start is not None:
            ranges.append(f"{re.escape(chr(start))}-{re.escape(chr(code - 1))}")
            start = None
    return re.compile("[" + "".join(ranges) + "]")


def special_share(text: str) -> float:
    """Return the share of non-space characters that are neither letters, digits, punctuation nor emoji-like symbols."""
    counted = len("".join(text.split()))
    if not counted:
        return 0.0
    if _ASTRAL.search(text):  # emoji, rare CJK: the slow path
        return sum(1 for char in text if _is_special(char)) / counted
    return _special_bmp().subn("", text)[1] / counted


class Repetition(RowOperator):
    """Drop garbage: character runs, duplicated sentences, one n-gram everywhere, special characters, truncation."""

    name = "repetition"
    summary = "Garbage: long character runs, repeated sentences/n-grams, special-character share, truncated replies."
    Params = RepetitionParams
    params: RepetitionParams

    @cached_property
    def _char_run(self) -> re.Pattern[str]:
        return re.compile(r"(.)\1{" + str(self.params.max_char_run) + ",}")

    def problem(self, text: str, ngram_share: float) -> tuple[str, str] | None:
        """Return ``(code, detail)`` for the first test one text fails, or None (``ngram_share``: its top 4-gram's)."""
        params = self.params
        run = self._char_run.search(text)
        if run:
            return "repeated_chars", f"a character repeats {len(run.group())} times"
        if len(text) < params.min_chars_for_ratios:
            return None
        sentences = [s.strip() for s in _SENTENCE_SPLIT.split(text) if len(s.strip()) > 1]
        if len(sentences) >= 3:
            repeated = 1 - len(set(sentences)) / len(sentences)
            if repeated > params.max_duplicate_sentence_share:
                return "repeated_sentences", f"{repeated:.0%} of the sentences are repeats"
        if ngram_share > params.max_top_ngram_share:
            return "repeated_ngram", f"one 4-gram covers {ngram_share:.0%} of the text"
        special = special_share(text)
        if special > params.max_special_share:
            return "special_chars", f"{special:.0%} of the characters are special"
        return None

    def decide(self, sample: Sample) -> Decision:
        """Drop the row when any turn is garbage or the last reply is cut off."""
        return self.decide_batch([sample])[0]

    def decide_batch(self, samples: Sequence[Sample]) -> list[Decision]:
        """Decide every row, with the 4-gram counts of all their turns done at once (NumPy)."""
        shares = iter(top_ngram_shares([turn.content for sample in samples for turn in sample.turns]).tolist())
        return [self._decide(sample, [next(shares) for _ in sample.turns]) for sample in samples]

    def _decide(self, sample: Sample, shares: list[float]) -> Decision:
        for turn, share in zip(sample.turns, shares, strict=True):
            found = self.problem(turn.content, share)
            if found:
                return Drop(*found)
        replies = [turn.content for turn in sample.turns if turn.role == "assistant"]
        if self.params.truncated and replies:
            last = replies[-1].rstrip()
            # the tail is enough (``\b`` still sees the character before ``pos``)
            if _TRUNCATED_END.search(last, max(0, len(last) - _TAIL_CHARS)) or last.count("```") % 2 == 1:
                return Drop("truncated", "the last reply ends mid-sentence")
        return KEEP
