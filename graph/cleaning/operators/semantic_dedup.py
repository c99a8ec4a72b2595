"""``semantic-dedup`` (optional): drop paraphrases of a kept row, by embedding similarity.

MinHash (``near-dedup``) finds rows that share most of their character shingles; a paraphrase
("积分怎么兑换？" / "请问积分要如何兑换呢？") shares few, and passes it. This operator embeds each
row's text with the configured embedder (``DIALOGFORGE_EMBEDDER``: bundled multilingual-e5-small
by default) and drops a row whose cosine similarity with a row kept before reaches
``threshold``, naming that row (``duplicate_of`` in ``dropped.jsonl`` and the report). The first
row of each group is kept. Kept vectors go into an approximate nearest-neighbour index (Chroma's
HNSW, ``graph.cleaning.vector_index``); within a batch, rows are compared exactly, a chunk at a
time. Memory: one batch's vectors plus Chroma's ~5 KB a kept row, so it suits what e5 can embed
in reasonable time anyway (100,000 rows: ~10 min of e5, ~0.5 GB of index), not a million rows.

It is not in the default chain: e5 embeds ~160 rows/s on this machine's two cores (far less
under load), so it is the slowest step but the LLM ones; run it after ``exact-dedup,near-dedup``
on what they kept (``--ops default,semantic-dedup``). The default threshold, 0.95, favours
precision: on the planted paraphrases of ``python -m benchmarks.paraphrase_dedup`` (18 zh/en
pairs whose hard negatives are the other questions of the same bank desk) e5 on whole dialogues
gave precision 1.00 / recall 0.56 at 0.95, 0.93 / 0.72 at 0.93 and 0.89 / 0.89 at 0.90, where
MinHash found none of them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from functools import cached_property
from typing import Literal

import numpy as np
from pydantic import Field

from agents.schemas import Sample
from graph.cleaning.base import KEEP, Decision, Drop, EmbeddingOperator, OperatorParams
from graph.cleaning.hash_index import IdList
from graph.cleaning.vector_index import VectorIndex

CHUNK_ROWS = 512
"""Rows compared with each other exactly (a 512 x 512 similarity matrix) before they join the index."""


class SemanticDedupParams(OperatorParams):
    """Parameters of ``semantic-dedup``."""

    threshold: float = Field(
        default=0.95, ge=0.5, le=1.0, description="Cosine similarity at or above which a row is a paraphrase."
    )
    text: Literal["dialogue", "user"] = Field(
        default="dialogue", description="What is embedded: every turn, or the user turns only."
    )
    max_chars: int = Field(default=1_000, ge=20, le=8_000, description="Characters embedded per row (its start).")


def row_text(sample: Sample, text: str, max_chars: int) -> str:
    """Return the text of a row that is embedded: its (user) turns, one a line, cut to ``max_chars``."""
    turns = [turn for turn in sample.turns if text == "dialogue" or turn.role == "user"]
    return "\n".join(turn.content for turn in turns)[:max_chars]


class SemanticDedup(EmbeddingOperator):
    """Drop rows whose embedding is within ``threshold`` cosine of a kept row's."""

    name = "semantic-dedup"
    summary = "Drop paraphrases of kept rows: embedding cosine (the configured embedder), ANN index; keeps the first."
    Params = SemanticDedupParams
    params: SemanticDedupParams

    @cached_property
    def _index(self) -> VectorIndex:
        return VectorIndex()

    @cached_property
    def _kept_ids(self) -> IdList:
        return IdList()

    async def decide_batch(self, samples: Sequence[Sample]) -> list[Decision]:
        """Embed the rows (in a thread: the model is CPU-bound) and admit them in order, a chunk at a time."""
        texts = [row_text(sample, self.params.text, self.params.max_chars) for sample in samples]
        vectors = await asyncio.to_thread(self.embedder.embed, texts) if texts else np.empty((0, 0))
        decisions: list[Decision] = []
        for start in range(0, len(samples), CHUNK_ROWS):
            chunk = slice(start, start + CHUNK_ROWS)
            ids = [sample.id for sample in samples[chunk]]
            decisions += await asyncio.to_thread(self._admit, ids, np.ascontiguousarray(vectors[chunk]))
        return decisions

    def _admit(self, ids: list[str], vectors: np.ndarray) -> list[Decision]:
        """Drop the rows near a kept row (indexed, or earlier in this chunk); index the rest."""
        rows, similarity = self._index.nearest(vectors)
        within = vectors @ vectors.T
        decisions: list[Decision] = []
        kept: list[int] = []
        threshold = self.params.threshold
        for local in range(len(ids)):
            best, of = float(similarity[local]), self._kept_ids[int(rows[local])] if rows[local] >= 0 else None
            if kept:
                scores = within[local, kept]
                top = int(np.argmax(scores))
                if scores[top] > best:
                    best, of = float(scores[top]), ids[kept[top]]
            if of is not None and best >= threshold:
                decisions.append(Drop("paraphrase", f"cosine {best:.3f} with a kept row", of))
                continue
            decisions.append(KEEP)
            kept.append(local)
        if kept:
            self._index.add(vectors[kept])
            self._kept_ids.extend([ids[local] for local in kept])
        return decisions

    def close(self) -> None:
        """Drop the index of this run (and its temporary folder)."""
        if "_index" in self.__dict__:
            self._index.close()
            del self.__dict__["_index"]
            self.__dict__.pop("_kept_ids", None)
