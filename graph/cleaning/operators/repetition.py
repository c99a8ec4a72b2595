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
from collections import Counter

from pydantic import Field

from agents.schemas import Sample
from graph.cleaning.base import KEEP, Decision, Drop, OperatorParams, RowOperator

_SPACE = re.compile(r"\s")
_WORD_OR_SPACE = re.compile(r"[^\W_]+|\s+")
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


def special_share(text: str) -> float:
    """Return the share of non-space characters that are neither letters, digits, punctuation nor emoji-like symbols."""
    counted = len(text) - len(_SPACE.findall(text))
    special = 0
    for char in _WORD_OR_SPACE.sub("", text):  # only punctuation and symbols are left to look at
        category = unicodedata.category(char)
        if category[0] != "P" and category != "So":
            special += 1
    return special / counted if counted else 0.0


def top_ngram_share(text: str, n: int = 4) -> float:
    """Return the share of characters covered by the most frequent character n-gram's occurrences."""
    compact = re.sub(r"\s+", "", text)
    if len(compact) < 2 * n:
        return 0.0
    gram, count = Counter(compact[i : i + n] for i in range(len(compact) - n + 1)).most_common(1)[0]
    return min(1.0, count * len(gram) / len(compact)) if count > 1 else 0.0


class Repetition(RowOperator):
    """Drop garbage: character runs, duplicated sentences, one n-gram everywhere, special characters, truncation."""

    name = "repetition"
    summary = "Garbage: long character runs, repeated sentences/n-grams, special-character share, truncated replies."
    Params = RepetitionParams
    params: RepetitionParams

    def problem(self, text: str) -> tuple[str, str] | None:
        """Return ``(code, detail)`` for the first test one text fails, or None."""
        params = self.params
        run = re.search(r"(.)\1{" + str(params.max_char_run) + ",}", text)
        if run:
            return "repeated_chars", f"a character repeats {len(run.group())} times"
        if len(text) < params.min_chars_for_ratios:
            return None
        sentences = [s.strip() for s in _SENTENCE_SPLIT.split(text) if len(s.strip()) > 1]
        if len(sentences) >= 3:
            repeated = 1 - len(set(sentences)) / len(sentences)
            if repeated > params.max_duplicate_sentence_share:
                return "repeated_sentences", f"{repeated:.0%} of the sentences are repeats"
        share = top_ngram_share(text)
        if share > params.max_top_ngram_share:
            return "repeated_ngram", f"one 4-gram covers {share:.0%} of the text"
        special = special_share(text)
        if special > params.max_special_share:
            return "special_chars", f"{special:.0%} of the characters are special"
        return None

    def decide(self, sample: Sample) -> Decision:
        """Drop the row when any turn is garbage or the last reply is cut off."""
        for turn in sample.turns:
            found = self.problem(turn.content)
            if found:
                return Drop(*found)
        replies = [turn.content for turn in sample.turns if turn.role == "assistant"]
        if self.params.truncated and replies:
            last = replies[-1].rstrip()
            if _TRUNCATED_END.search(last) or last.count("```") % 2 == 1:
                return Drop("truncated", "the last reply ends mid-sentence")
        return KEEP
