"""``near-dedup``: MinHash LSH on character shingles, verified, keeping the first row of each cluster.

Chinese has no spaces, so the shingles are character n-grams (default 5) of the folded dialogue
(``exact_dedup.dialogue_key_text``), hashed for the whole batch at once with NumPy. The MinHash
signatures come from ``rensa`` (MIT, Rust; its bulk ``digest_matrix_from_flat_token_hashes``
computes 10k+ signatures a second where datasketch's ``MinHash.bulk`` managed about 900 here).
Rows are banded (``bands`` x ``rows_per_band`` = the number of permutations); a row whose band
hash matches a kept row's is a candidate, and the candidate is confirmed only when the Jaccard
similarity estimated from the two signatures (kept as 8-bit b-bit MinHash: 1 byte a permutation)
reaches ``threshold``. So a collision never drops a row by itself, and memory stays at about
``4 x bands`` bytes a kept row (``graph.cleaning.hash_index``; rows, sketches and ids are spilled to disk).

Paraphrases share few shingles: ``semantic-dedup`` (optional, after this one) compares the rows'
embeddings instead.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import Field, model_validator

from agents.schemas import Sample
from graph.cleaning.base import KEEP, Decision, Drop, KeyedOperator, KeyIndex, OperatorParams
from graph.cleaning.hash_index import HashRuns, IdList
from graph.cleaning.operators.exact_dedup import dialogue_key_text
from graph.cleaning.shingles import band_hashes, bbit_sketch, minhash_signatures
from graph.cleaning.spill import SpillFile


class NearDedupParams(OperatorParams):
    """Parameters of ``near-dedup``."""

    threshold: float = Field(default=0.7, gt=0.0, le=1.0, description="Jaccard similarity of shingle sets.")
    shingle: int = Field(default=5, ge=1, le=16, description="Characters per shingle.")
    bands: int = Field(default=20, ge=1, le=64, description="LSH bands.")
    rows_per_band: int = Field(default=6, ge=1, le=32, description="MinHash values per band.")
    seed: int = Field(default=1, ge=0, description="MinHash seed (fixed: reruns give the same result).")

    @model_validator(mode="after")
    def _bounded(self) -> NearDedupParams:
        if self.bands * self.rows_per_band > 512:
            raise ValueError("bands x rows_per_band must be at most 512")
        return self

    @property
    def num_perm(self) -> int:
        """MinHash permutations: bands x rows per band."""
        return self.bands * self.rows_per_band


class NearDedup(KeyedOperator):
    """Drop rows that nearly repeat a kept row (MinHash LSH, verified)."""

    name = "near-dedup"
    summary = "Drop near-duplicate dialogues: MinHash LSH on character shingles (rensa), verified; keeps the first."
    Params = NearDedupParams
    params: NearDedupParams

    def keys(self, samples: Sequence[Sample]) -> np.ndarray:
        """Return per row its band hashes (uint32) then its 8-bit sketch, packed in one uint8 matrix."""
        return self.text_keys([dialogue_key_text(sample) for sample in samples])

    def text_keys(self, texts: Sequence[str]) -> np.ndarray:
        """Return :meth:`keys` of already folded texts (``dialogue_key_text``)."""
        params = self.params
        signatures = minhash_signatures(texts, params.shingle, params.num_perm, params.seed)
        bands = band_hashes(signatures, params.bands, params.rows_per_band)
        return np.hstack([bands.view(np.uint8), bbit_sketch(signatures)])

    def new_index(self) -> KeyIndex:
        """Return an empty LSH index."""
        return NearIndex(self.params)


class NearIndex(KeyIndex):
    """The kept rows' band hashes and sketches, and the clusters found."""

    def __init__(self, params: NearDedupParams) -> None:
        """Start empty."""
        self.params = params
        self.bands = [HashRuns() for _ in range(params.bands)]
        self.sketches = SpillFile(params.num_perm)  # read back only for candidates: on disk, not in memory
        self.kept_ids = IdList()

    def _sketch(self, row: int) -> np.ndarray:
        return self.sketches.read(row)

    def split_keys(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return the rows' band hashes (uint32) and their sketches, from :meth:`NearDedup.keys`."""
        return keys[:, : 4 * self.params.bands].copy().view(np.uint32), keys[:, 4 * self.params.bands :]

    def add(self, ids: Sequence[str], keys: np.ndarray) -> None:
        """Index every row (none dropped), e.g. a reference set that new texts are compared with."""
        hashes, sketches = self.split_keys(keys)
        rows = np.arange(len(self.kept_ids), len(self.kept_ids) + len(ids), dtype=np.int64)
        for b in range(self.params.bands):
            self.bands[b].add(hashes[:, b], rows)
        self.sketches.append(sketches)
        self.kept_ids.extend(list(ids))

    def similar(self, key: np.ndarray) -> dict[str, float]:
        """Return the indexed rows that share a band hash with one row's key, with their estimated Jaccard."""
        hashes, sketches = self.split_keys(key.reshape(1, -1))
        rows = {int(self.bands[b].lookup(hashes[:, b])[0]) for b in range(self.params.bands)} - {-1}
        return {self.kept_ids[row]: self.similarity(sketches[0], self._sketch(row)) for row in sorted(rows)}

    def similarity(self, left: np.ndarray, right: np.ndarray) -> float:
        """Estimate Jaccard similarity from two 8-bit sketches (b-bit MinHash, Li & König 2010)."""
        agree = float(np.count_nonzero(left == right)) / len(left)
        return max(0.0, (agree - 1 / 256) / (1 - 1 / 256))

    def admit(self, ids: Sequence[str], keys: np.ndarray) -> list[Decision]:
        """Drop rows similar to a kept row (earlier batch or earlier in this batch); keep and index the rest.

        Only rows that share a band hash with a kept row of an earlier batch, or with another row
        of this batch, can be duplicates: the others (most rows) are kept without a Python step each.
        """
        params = self.params
        band_count = params.bands
        hashes, sketches = self.split_keys(keys)
        earlier = np.stack([self.bands[b].lookup(hashes[:, b]) for b in range(band_count)], axis=1)
        shared = np.zeros(len(ids), dtype=bool)
        for b in range(band_count):
            _, inverse, counts = np.unique(hashes[:, b], return_inverse=True, return_counts=True)
            shared |= counts[inverse] > 1
        suspects = np.flatnonzero(shared | (earlier >= 0).any(axis=1)).tolist()
        decisions: list[Decision] = [KEEP] * len(ids)
        dropped: set[int] = set()
        batch_buckets: list[dict[int, int]] = [{} for _ in range(band_count)]
        for index in suspects:
            row_hashes = hashes[index].tolist()
            candidates = {int(row) for row in earlier[index] if row >= 0}
            local = {batch_buckets[b][h] for b, h in enumerate(row_hashes) if h in batch_buckets[b]}
            best_id, best = None, 0.0
            for row in candidates:
                similar = self.similarity(sketches[index], self._sketch(row))
                if similar > best:
                    best, best_id = similar, self.kept_ids[row]
            for other in local:
                similar = self.similarity(sketches[index], sketches[other])
                if similar > best:
                    best, best_id = similar, ids[other]
            if best_id is not None and best >= params.threshold:
                decisions[index] = Drop("near_duplicate", f"estimated Jaccard {best:.2f} with a kept row", best_id)
                dropped.add(index)
                continue
            for b, h in enumerate(row_hashes):
                batch_buckets[b].setdefault(h, index)
        kept_local = [index for index in range(len(ids)) if index not in dropped]
        rows = np.arange(len(self.kept_ids), len(self.kept_ids) + len(kept_local), dtype=np.int64)
        for b in range(band_count):
            self.bands[b].add(hashes[kept_local, b], rows)
        self.sketches.append(sketches[kept_local])
        self.kept_ids.extend([ids[i] for i in kept_local])
        return decisions
