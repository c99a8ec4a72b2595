"""Cheap deterministic checks that run on a sample before any judge call.

Each failed check is a ``CheckFailure``: a stable machine code and a short English reason that
quotes the specifics, so the rewriter LLM knows exactly what to change. The checks generalise the
seed filter of article 000 (empty, length 5-150, a style keyword, embedding similarity > 0.40 to
the style's example) to any style pack.

The language check is a Unicode script count (Han against Latin letters), not a language
detector: the packs only need "mostly Chinese" or "mostly English", which the script decides, and
detectors such as lingua or langdetect misjudge short replies full of kaomoji. Letters of other
scripts (Greek ω, Cyrillic Д, katakana ノ, Thai ๓ ...) are ignored because in this data they come
from kaomoji, not from prose.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import numpy as np

from agents.embeddings import normalize_rows
from agents.pii import find_pii, mask
from agents.schemas import Turn
from agents.styles import Bounds, StylePack

MIN_CJK_SHARE = 0.3
MIN_LATIN_SHARE = 0.7
SEED_COPY_JACCARD = 0.8
_QUOTE_CHARS = 40
_LANGUAGE_NAMES = {"zh": "Chinese", "en": "English"}


class EmbedderLike(Protocol):
    """Anything with ``embed`` (``agents.embeddings.Embedder`` without the name and dim it also has)."""

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Return one vector per text, shape (len(texts), dim)."""
        ...


@dataclass(frozen=True)
class CheckFailure:
    """One failed check: a stable code and an actionable reason for the rewriter."""

    code: str
    reason: str


def quote(text: str) -> str:
    """Return a text flattened to one line and cut to a short quotation."""
    flat = " ".join(text.split())
    return flat if len(flat) <= _QUOTE_CHARS else flat[: _QUOTE_CHARS - 1] + "…"


def turn_names(turns: list[Turn]) -> list[str]:
    """Name each turn as the reasons do: "reply" / "user turn", numbered when a role repeats."""
    counts = {role: sum(1 for turn in turns if turn.role == role) for role in ("user", "assistant")}
    seen = {"user": 0, "assistant": 0}
    names = []
    for turn in turns:
        seen[turn.role] += 1
        base = "reply" if turn.role == "assistant" else "user turn"
        names.append(f"{base} {seen[turn.role]}" if counts[turn.role] > 1 else base)
    return names


def check_structure(turns: list[Turn]) -> list[CheckFailure]:
    """Check the turns alternate user/assistant, start with user, end with assistant, none empty."""
    if not turns:
        return [CheckFailure("empty", "the sample has no turns: write a user turn and a reply")]
    failures = []
    for name, turn in zip(turn_names(turns), turns, strict=True):
        if not turn.content.strip():
            failures.append(CheckFailure("empty", f"{name} is empty: write its text"))
    if turns[0].role != "user":
        failures.append(CheckFailure("structure", "the dialogue starts with a reply: start with a user turn"))
    if turns[-1].role != "assistant":
        failures.append(CheckFailure("structure", "the dialogue ends with a user turn: end with an assistant reply"))
    for index in range(1, len(turns)):
        if turns[index].role == turns[index - 1].role:
            failures.append(
                CheckFailure(
                    "structure",
                    f"turns {index} and {index + 1} are both {turns[index].role} turns: alternate user and assistant",
                )
            )
            break
    return failures


def check_lengths(pack: StylePack, turns: list[Turn]) -> list[CheckFailure]:
    """Check every non-empty turn's stripped length against the pack's reply or user bounds."""
    failures = []
    for name, turn in zip(turn_names(turns), turns, strict=True):
        length = len(turn.content.strip())
        bounds: Bounds = pack.reply_bounds if turn.role == "assistant" else pack.user_bounds
        if length == 0 or bounds.min_chars <= length <= bounds.max_chars:
            continue
        code = "too_short" if length < bounds.min_chars else "too_long"
        unit = "character" if length == 1 else "characters"
        failures.append(
            CheckFailure(
                code,
                f"{name} is {length} {unit}; keep it within {bounds.min_chars}-{bounds.max_chars}",
            )
        )
    return failures


_SENTENCE = re.compile(r"[^。！？!?.~]+[。！？!?.~]")


def marker_example(reply: str, marker: str) -> str:
    """Suggest one concrete edit that adds ``marker``: small models follow an example far better.

    The first sentence gets the marker before its closing punctuation, e.g.
    ``'放松一下。' -> '放松一下呀~'`` (or ``'好累' -> '好累呀'`` when there is no punctuation).
    """
    match = _SENTENCE.search(reply)
    sentence = match.group(0) if match else reply.strip()[:40]
    core = sentence.rstrip("。！？!?.~ ")
    return f"for example change '{sentence}' to '{core}{marker}~'" if core else f"for example add '{marker}'"


def check_markers(pack: StylePack, turns: list[Turn]) -> list[CheckFailure]:
    """Check every non-empty reply contains at least one of the pack's style markers."""
    if not pack.markers:
        return []
    wanted = "/".join(pack.markers)
    return [
        CheckFailure(
            "marker_missing",
            f"{name} lacks a style marker: use one of {wanted} - {marker_example(turn.content, pack.markers[0])}",
        )
        for name, turn in zip(turn_names(turns), turns, strict=True)
        if turn.role == "assistant"
        and turn.content.strip()
        and not any(marker in turn.content for marker in pack.markers)
    ]


def check_forbidden(pack: StylePack, turns: list[Turn]) -> list[CheckFailure]:
    """Check no reply contains a forbidden phrase, ignoring case."""
    failures = []
    for name, turn in zip(turn_names(turns), turns, strict=True):
        if turn.role != "assistant":
            continue
        text = turn.content.casefold()
        for phrase in pack.forbidden:
            if phrase.strip() and phrase.casefold() in text:
                failures.append(CheckFailure("forbidden", f"{name} contains a forbidden phrase: '{phrase}'; remove it"))
    return failures


def script_counts(text: str) -> tuple[int, int]:
    """Count the Han (CJK ideograph) letters and the Latin letters of a text."""
    cjk = latin = 0
    for char in text:
        if not unicodedata.category(char).startswith("L"):
            continue
        name = unicodedata.name(char, "")
        if name.startswith("CJK "):
            cjk += 1
        elif name.startswith(("LATIN ", "FULLWIDTH LATIN ")):
            latin += 1
    return cjk, latin


def dialogue_language(turns: Sequence[Turn]) -> Literal["zh", "en"]:
    """Return the language a dialogue is written in, by the rule :func:`check_language` applies: zh at 30% Han."""
    cjk, latin = script_counts("\n".join(turn.content for turn in turns))
    return "zh" if cjk and cjk / (cjk + latin) >= MIN_CJK_SHARE else "en"


def check_language(pack: StylePack, turns: list[Turn]) -> list[CheckFailure]:
    """Check every turn is mostly in the pack's language, judged by Han against Latin letters.

    User turns count too: a Chinese data set whose users write mostly English teaches the wrong
    thing. The Chinese bar is low (30% Han) so everyday code-switching ("今天的meeting好累") passes.
    """
    language = _LANGUAGE_NAMES[pack.language]
    failures = []
    for name, turn in zip(turn_names(turns), turns, strict=True):
        if not turn.content.strip():
            continue
        cjk, latin = script_counts(turn.content)
        mine, needed = (cjk, MIN_CJK_SHARE) if pack.language == "zh" else (latin, MIN_LATIN_SHARE)
        share = mine / (cjk + latin) if cjk + latin else 0.0
        if mine == 0 or share < needed:
            what = "Chinese characters" if pack.language == "zh" else "Latin letters"
            failures.append(
                CheckFailure(
                    "language",
                    f"{name} is not mostly {language} ({share:.0%} of its letters are {what}, "
                    f"need at least {needed:.0%}): write it in {language}",
                )
            )
    return failures


def check_pii(turns: list[Turn]) -> list[CheckFailure]:
    """Check no turn contains personal data (email, phone, resident ID, card number, IBAN)."""
    failures = []
    for name, turn in zip(turn_names(turns), turns, strict=True):
        hits = find_pii(turn.content)
        if hits:
            found = ", ".join(f"{hit.label} '{mask(hit.span_text)}'" for hit in hits)
            failures.append(
                CheckFailure(
                    "pii",
                    f"{name} contains personal data ({found}): remove it or replace it with a placeholder",
                )
            )
    return failures


def normalise(text: str) -> str:
    """Fold case and width, and drop whitespace, punctuation and symbols, for copy detection."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(char for char in folded if unicodedata.category(char)[0] not in "PZSC")


def trigram_jaccard(left: str, right: str) -> float:
    """Return the Jaccard similarity of the two texts' character 3-gram sets (texts under 3: whole)."""

    def grams(text: str) -> set[str]:
        return {text[i : i + 3] for i in range(len(text) - 2)} if len(text) >= 3 else {text}

    a, b = grams(left), grams(right)
    union = a | b
    return len(a & b) / len(union) if union else 1.0


def check_seed_copy(pack: StylePack, turns: list[Turn]) -> list[CheckFailure]:
    """Check no turn repeats a seed example's text, exactly or nearly (3-gram Jaccard >= 0.8)."""
    seeds = [text for example in pack.examples for text in (example.user, example.assistant)]
    normalised_seeds = [(seed, normalise(seed)) for seed in seeds]
    failures = []
    for name, turn in zip(turn_names(turns), turns, strict=True):
        text = normalise(turn.content)
        if not text:
            continue
        for seed, seed_text in normalised_seeds:
            if text == seed_text or trigram_jaccard(text, seed_text) >= SEED_COPY_JACCARD:
                failures.append(
                    CheckFailure(
                        "seed_copy",
                        f"{name} copies the seed example '{quote(seed)}': write new content",
                    )
                )
                break
    return failures


def run_text_checks(pack: StylePack, turns: list[Turn]) -> list[CheckFailure]:
    """Run every check that needs no model, in a fixed order, and return all failures."""
    return [
        *check_structure(turns),
        *check_lengths(pack, turns),
        *check_markers(pack, turns),
        *check_forbidden(pack, turns),
        *check_language(pack, turns),
        *check_pii(turns),
        *check_seed_copy(pack, turns),
    ]


def exemplar_similarities(embedder: EmbedderLike, pack: StylePack, replies: Sequence[str]) -> list[float]:
    """Return, for each reply, its maximum cosine similarity to the pack's seed replies (one embed call)."""
    if not replies:
        return []
    seeds = [example.assistant for example in pack.examples]
    vectors = normalize_rows(embedder.embed([*replies, *seeds]))
    similarity = vectors[: len(replies)] @ vectors[len(replies) :].T
    return [float(row.max()) for row in similarity]


def exemplar_similarity(embedder: EmbedderLike, pack: StylePack, reply: str) -> float:
    """Return the maximum cosine similarity between a reply and the pack's seed replies."""
    return exemplar_similarities(embedder, pack, [reply])[0]


def check_exemplar_similarity(embedder: EmbedderLike, pack: StylePack, turns: list[Turn]) -> CheckFailure | None:
    """Check every reply is at least ``pack.min_exemplar_similarity`` similar to a seed reply.

    Returns:
        A failure for the least similar reply under the threshold, or None (also when the pack
        sets no threshold or there is no non-empty reply).
    """
    threshold = pack.min_exemplar_similarity
    if threshold is None:
        return None
    named = [
        (name, turn.content)
        for name, turn in zip(turn_names(turns), turns, strict=True)
        if turn.role == "assistant" and turn.content.strip()
    ]
    scores = exemplar_similarities(embedder, pack, [text for _, text in named])
    if not scores:
        return None
    worst = min(range(len(scores)), key=scores.__getitem__)
    if scores[worst] >= threshold:
        return None
    return CheckFailure(
        "exemplar_similarity",
        f"{named[worst][0]} is too far from the style's seed replies (similarity {scores[worst]:.2f}, "
        f"need at least {threshold:.2f}): write it closer to their tone and wording",
    )


def check_near_duplicate(pack: StylePack, similarity: float, nearest: str) -> CheckFailure | None:
    """Check a sample against its most similar accepted sample, as found by the memory.

    Args:
        pack: The style pack, whose ``near_duplicate_similarity`` is the limit.
        similarity: Cosine similarity to the nearest accepted sample.
        nearest: That sample's text (its user turn), quoted in the reason.
    """
    if similarity < pack.near_duplicate_similarity:
        return None
    return CheckFailure(
        "near_duplicate",
        f"the sample nearly duplicates an accepted one ('{quote(nearest)}', similarity {similarity:.2f}, "
        f"limit {pack.near_duplicate_similarity:.2f}): choose a different situation and wording",
    )
