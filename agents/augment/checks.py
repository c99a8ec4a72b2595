"""Checks of an augmented child against its parent, without an LLM.

Each returns :class:`~agents.checks.CheckFailure` items with a stable code and a reason that
quotes the specifics, like the other cheap checks, so the rewriter knows exactly what to change:

- ``meaning_changed``: a turn's embedding is too far from the matching parent turn (the request,
  facts or feeling changed); ``copy``: the child is (nearly) the parent, by embedding or by
  character 3-gram overlap of the normalised text (the surface did not change);
- ``prefix_changed``: a turn that must be kept verbatim was changed; ``repeats``: a new turn
  repeats an earlier one;
- ``missing`` / ``not_in_original``: a phrase the operator's answer names (a scene word, a fact,
  a changed detail) is absent where it must appear, or present where it must not.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from agents.checks import CheckFailure, EmbedderLike, normalise, quote, trigram_jaccard, turn_names
from agents.embeddings import normalize_rows
from agents.schemas import Role, Turn

REPEAT_JACCARD = 0.8


def joined(turns: Sequence[Turn], roles: Iterable[Role] = ("user", "assistant")) -> str:
    """Join the contents of the turns of the given roles, one per line."""
    wanted = set(roles)
    return "\n".join(turn.content for turn in turns if turn.role in wanted)


class EmbeddedTogether:
    """An embedder that has embedded a check's texts in one call up front and answers from them.

    A check that compares several texts (each turn with its parent's, then the whole dialogue)
    would otherwise make one embeddings round trip per comparison, each on the child's critical
    path; texts it was not given up front are passed on to the wrapped embedder.
    """

    def __init__(self, embedder: EmbedderLike, texts: Iterable[str]) -> None:
        """Embed the distinct non-empty ``texts`` in one call."""
        self._embedder = embedder
        wanted = list(dict.fromkeys(text for text in texts if text.strip()))
        vectors = np.asarray(embedder.embed(wanted), dtype=np.float32) if wanted else np.empty((0, 0), np.float32)
        self._known = dict(zip(wanted, vectors, strict=True))

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Return one vector per text, from the up-front call where it holds them."""
        missing = list(dict.fromkeys(text for text in texts if text not in self._known))
        if missing:
            self._known.update(zip(missing, np.asarray(self._embedder.embed(missing), dtype=np.float32), strict=True))
        return np.stack([self._known[text] for text in texts]) if texts else np.empty((0, 0), np.float32)


def turn_texts(*dialogues: Sequence[Turn], whole: bool = False) -> list[str]:
    """Return every turn's content and, with ``whole``, each dialogue joined.

    The turns are what ``check_meaning`` embeds; the whole dialogues what ``check_not_same_meaning`` does.
    """
    return [
        text for turns in dialogues for text in (*(turn.content for turn in turns), *([joined(turns)] if whole else []))
    ]


def similarities(embedder: EmbedderLike, pairs: Sequence[tuple[str, str]]) -> list[float]:
    """Return the cosine similarity of each (left, right) pair, embedding every text in one call."""
    if not pairs:
        return []
    texts = [text for pair in pairs for text in pair]
    vectors = normalize_rows(np.asarray(embedder.embed(texts), dtype=np.float32))
    return [float(vectors[2 * index] @ vectors[2 * index + 1]) for index in range(len(pairs))]


def surface_overlap(left: str, right: str) -> float:
    """Return the character 3-gram Jaccard similarity of two texts, case, width and punctuation folded."""
    return trigram_jaccard(normalise(left), normalise(right))


def contains(text: str, phrase: str) -> bool:
    """Tell whether ``phrase`` occurs in ``text`` once both are normalised (an empty phrase never does)."""
    needle = normalise(phrase)
    return bool(needle) and needle in normalise(text)


def check_meaning(
    embedder: EmbedderLike,
    parent: Sequence[Turn],
    child: Sequence[Turn],
    min_similarity: float,
    *,
    roles: Iterable[Role] = ("user", "assistant"),
    what: str = "its request, facts and feeling",
) -> list[CheckFailure]:
    """Check each child turn (of ``roles``) stays within ``min_similarity`` of the parent turn in its place.

    Turns are paired by position (the operator keeps the structure); the least similar turn below
    the bound is reported.
    """
    wanted = set(roles)
    names = turn_names(list(child))
    pairs = [
        (index, parent[index].content, child[index].content)
        for index in range(min(len(parent), len(child)))
        if child[index].role in wanted and parent[index].content.strip() and child[index].content.strip()
    ]
    scores = similarities(embedder, [(left, right) for _, left, right in pairs])
    if not scores:
        return []
    worst = min(range(len(scores)), key=scores.__getitem__)
    if scores[worst] >= min_similarity:
        return []
    index, original, _ = pairs[worst]
    return [
        CheckFailure(
            "meaning_changed",
            f"{names[index]} no longer says what the original says ('{quote(original)}', similarity "
            f"{scores[worst]:.2f}, need at least {min_similarity:.2f}): keep {what}",
        )
    ]


def check_not_copy(
    parent: Sequence[Turn],
    child: Sequence[Turn],
    max_overlap: float,
    *,
    roles: Iterable[Role] = ("user", "assistant"),
    change: str = "say it in different words and sentence structure",
    code: str = "copy",
) -> CheckFailure | None:
    """Check the child's text (of ``roles``) shares less than ``max_overlap`` of its 3-grams with the parent's."""
    wanted = tuple(roles)
    overlap = surface_overlap(joined(parent, wanted), joined(child, wanted))
    if overlap < max_overlap:
        return None
    return CheckFailure(
        code,
        f"the {'replies' if wanted == ('assistant',) else 'dialogue'} reuse the original's wording "
        f"({overlap:.0%} of 3-character sequences shared, keep it under {max_overlap:.0%}): {change}",
    )


def check_not_same_meaning(
    embedder: EmbedderLike, parent: Sequence[Turn], child: Sequence[Turn], max_similarity: float
) -> CheckFailure | None:
    """Check the whole child is not (nearly) the parent by embedding: at most ``max_similarity``."""
    [score] = similarities(embedder, [(joined(parent), joined(child))])
    if score <= max_similarity:
        return None
    return CheckFailure(
        "copy",
        f"the dialogue is almost the original (similarity {score:.3f}, at most {max_similarity:.3f}): "
        "change the wording clearly",
    )


def check_verbatim_prefix(parent: Sequence[Turn], child: Sequence[Turn]) -> list[CheckFailure]:
    """Check the child starts with every parent turn, unchanged and in order."""
    names = turn_names(list(parent))
    for index, turn in enumerate(parent):
        if (
            index >= len(child)
            or child[index].role != turn.role
            or child[index].content.strip() != turn.content.strip()
        ):
            return [
                CheckFailure(
                    "prefix_changed",
                    f"the original's {names[index]} must stay exactly as it was ('{quote(turn.content)}'): "
                    "copy the original turns unchanged and only add new turns after them",
                )
            ]
    return []


def check_no_repeats(turns: Sequence[Turn], first_new: int) -> list[CheckFailure]:
    """Check no turn from ``first_new`` on repeats an earlier turn of the same role (3-gram Jaccard >= 0.8)."""
    names = turn_names(list(turns))
    for index in range(first_new, len(turns)):
        text = normalise(turns[index].content)
        for earlier in range(index):
            if turns[earlier].role == turns[index].role and trigram_jaccard(
                text, normalise(turns[earlier].content)
            ) >= (REPEAT_JACCARD):
                return [
                    CheckFailure(
                        "repeats",
                        f"{names[index]} repeats {names[earlier]} ('{quote(turns[earlier].content)}'): "
                        "move the conversation forward instead",
                    )
                ]
    return []


def check_phrases_in(
    phrases: Sequence[str], text: str, *, where: str, what: str, code: str = "missing", fix: str = ""
) -> list[CheckFailure]:
    """Check every phrase occurs in ``text``; one failure naming the first that does not."""
    absent = [phrase for phrase in phrases if not contains(text, phrase)]
    if not absent:
        return []
    shown = ", ".join(f"'{quote(phrase)}'" for phrase in absent[:3])
    return [CheckFailure(code, f"{what} {shown} {'is' if len(absent) == 1 else 'are'} not in {where}{fix}")]


def check_phrases_absent(phrases: Sequence[str], text: str, *, where: str, what: str, fix: str) -> list[CheckFailure]:
    """Check no phrase occurs in ``text`` (e.g. the new scene's words in the original)."""
    present = [phrase for phrase in phrases if contains(text, phrase)]
    if not present:
        return []
    shown = ", ".join(f"'{quote(phrase)}'" for phrase in present[:3])
    return [CheckFailure("not_new", f"{what} {shown} already {'is' if len(present) == 1 else 'are'} in {where}{fix}")]
