"""What a new child must not repeat: every parent of the job and every child accepted so far.

- **Word for word** (case, width, spaces and punctuation folded): a repeat of any parent, its own
  included, or of any accepted child is a duplicate.
- **Nearly**: the texts are indexed with the cleaning's MinHash LSH (``near-dedup``'s 5-character
  shingles, bands and b-bit sketches: :class:`graph.cleaning.operators.near_dedup.NearIndex`), so a
  child is compared with the whole parent set at the cost of one signature, however large the
  set. A child is a near-duplicate of a parent or an accepted child other than its own parent when
  their estimated Jaccard similarity reaches :data:`NEAR_JACCARD` *and* exceeds the child's
  similarity to its own parent: it is closer to another sample than to the one it was made from.
  How close a child may stay to its own parent is the operator's contract (a paraphrase must change
  the words; an extension keeps its parent's turns verbatim), checked by the operator.
- **Siblings** (the accepted children of the same parent) are compared with every one of them,
  not through the index's bands, so a repeat of a sibling is never missed by LSH's chance.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from agents.checks import CheckFailure, normalise
from agents.schemas import Sample, Turn
from graph.cleaning.operators.exact_dedup import turns_key_text
from graph.cleaning.operators.near_dedup import NearDedup, NearDedupParams, NearIndex

NEAR_JACCARD = 0.7  # near-dedup's default: estimated Jaccard of 5-character shingle sets


def _flat(turns: Sequence[Turn]) -> str:
    return normalise("\n".join(turn.content for turn in turns if turn.role != "system"))


@dataclass
class Seen:
    """The parents and accepted children, indexed for exact and near repeats (see the module docstring)."""

    threshold: float = NEAR_JACCARD
    exact: set[str] = field(default_factory=set)
    siblings: dict[str, list[np.ndarray]] = field(default_factory=dict)  # parent id -> accepted children's sketches
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def __post_init__(self) -> None:
        """Build the shingle keys and the empty index."""
        params = NearDedupParams(threshold=self.threshold)
        self._keys, self._index = NearDedup(params), NearIndex(params)

    def key(self, turns: Sequence[Turn]) -> np.ndarray:
        """Return one dialogue's LSH key (band hashes and sketch)."""
        return self._keys.text_keys([turns_key_text([turn for turn in turns if turn.role != "system"])])[0]

    def _sketch(self, key: np.ndarray) -> np.ndarray:
        return self._index.split_keys(key.reshape(1, -1))[1][0]

    def add_parents(self, parents: Sequence[Sample]) -> None:
        """Remember a page of parents (one batch of signatures)."""
        if not parents:
            return
        self.exact.update(_flat(parent.turns) for parent in parents)
        self._index.add([parent.id for parent in parents], self._keys.keys(parents))

    def add_child(self, parent_id: str, child_id: str, turns: Sequence[Turn]) -> None:
        """Remember an accepted child of ``parent_id``."""
        key = self.key(turns)
        self.exact.add(_flat(turns))
        self.siblings.setdefault(parent_id, []).append(self._sketch(key))
        self._index.add([child_id], key.reshape(1, -1))

    def duplicate(self, parent: Sample, turns: Sequence[Turn]) -> CheckFailure | None:
        """Return a near-duplicate failure if the child repeats a sample (see the module docstring), else None."""
        if _flat(turns) in self.exact:
            return CheckFailure("near_duplicate", "the child repeats a sample of the data set word for word")
        key = self.key(turns)
        sketch, similarity = self._sketch(key), self._index.similarity
        for sibling in self.siblings.get(parent.id, []):
            shared = similarity(sketch, sibling)
            if shared >= self.threshold:
                return CheckFailure("near_duplicate", f"the child nearly repeats a sibling already made ({shared:.0%})")
        own = similarity(sketch, self._sketch(self.key(parent.turns)))
        others = {sample_id: shared for sample_id, shared in self._index.similar(key).items() if sample_id != parent.id}
        if others:
            nearest, shared = max(others.items(), key=lambda item: item[1])
            if shared >= self.threshold and shared > own:
                return CheckFailure(
                    "near_duplicate",
                    f"the child nearly repeats sample {nearest} ({shared:.0%} alike; its own parent {own:.0%})",
                )
        return None
