"""``exact-dedup``: drop rows whose normalized dialogue (every turn, not only the first) was seen before.

The key is 64 bits of BLAKE2b over the turns after case folding and the removal of whitespace,
punctuation and symbols (so "你好！" and "你好" are one text; a collision between two different
dialogues is about 1 in 10^13 at a million rows). The first row of each group is kept; a dropped
row names the row it repeats.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np
from pydantic import Field

from agents.schemas import Sample, Turn
from graph.cleaning.base import KEEP, Decision, Drop, KeyedOperator, KeyIndex, OperatorParams
from graph.cleaning.hash_index import HashRuns, IdList

_NOT_WORD = re.compile(r"[\W_]+")
_TURN_SEP = "\x1e"
_DETAIL = "same dialogue as an earlier row"


class ExactDedupParams(OperatorParams):
    """Parameters of ``exact-dedup``."""

    include_system: bool = Field(default=False, description="Also compare the system prompt.")
    include_roles: bool = Field(default=True, description="Rows with the same text in other roles differ.")


def dialogue_key_text(sample: Sample, include_system: bool = False, include_roles: bool = True) -> str:
    """Return the text a dialogue is compared by: folded, without whitespace, punctuation or symbols."""
    parts = [sample.system] if include_system else []
    return _TURN_SEP.join([*parts, turns_key_text(sample.turns, include_roles)])


def turns_key_text(turns: Sequence[Turn], include_roles: bool = True) -> str:
    """Return :func:`dialogue_key_text` of the turns alone (no system prompt)."""
    return _TURN_SEP.join(
        (turn.role[0] if include_roles else "") + _NOT_WORD.sub("", turn.content.casefold()) for turn in turns
    )


class ExactDedup(KeyedOperator):
    """Drop repeats of the same dialogue after normalization."""

    name = "exact-dedup"
    summary = "Drop repeated dialogues (all turns, case/space/punctuation folded); keeps the first."
    Params = ExactDedupParams
    params: ExactDedupParams

    def keys(self, samples: Sequence[Sample]) -> np.ndarray:
        """Return a 64-bit hash of each row's normalized dialogue."""
        params = self.params
        digests = b"".join(
            hashlib.blake2b(
                dialogue_key_text(sample, params.include_system, params.include_roles).encode("utf-8", "surrogatepass"),
                digest_size=8,
            ).digest()
            for sample in samples
        )
        return np.frombuffer(digests, dtype=np.uint64).copy()

    def new_index(self) -> KeyIndex:
        """Return an empty index of kept keys."""
        return ExactIndex()


class ExactIndex(KeyIndex):
    """The keys kept so far and the id of the row that first had each."""

    def __init__(self) -> None:
        """Start empty."""
        self.runs = HashRuns()
        self.kept_ids = IdList()

    def admit(self, ids: Sequence[str], keys: np.ndarray) -> list[Decision]:
        """Drop rows whose key was kept before (in an earlier batch or earlier in this one)."""
        earlier = self.runs.lookup(keys)
        _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        first_of = first[inverse.reshape(-1)]  # per row, the batch's first row with its key
        decisions: list[Decision] = [KEEP] * len(ids)
        for index in np.flatnonzero((earlier >= 0) | (first_of != np.arange(len(ids)))).tolist():
            if earlier[index] >= 0:
                decisions[index] = Drop("exact_duplicate", _DETAIL, self.kept_ids[earlier[index]])
            else:
                decisions[index] = Drop("exact_duplicate", _DETAIL, ids[first_of[index]])
        new = np.flatnonzero((earlier < 0) & (first_of == np.arange(len(ids))))
        rows = np.arange(len(self.kept_ids), len(self.kept_ids) + len(new), dtype=np.int64)
        self.runs.add(keys[new], rows)
        self.kept_ids.extend([ids[i] for i in new.tolist()])
        return decisions
