"""Accepted samples not yet written to Chroma: searched by brute force, written in batches.

A Chroma write costs about the same for one entry as for thirty (measured here: 53 ms for one
upsert, 4 ms an entry in a batch of 25, on the persistent store), and its Rust binding holds the
GIL meanwhile, so the event loop of every sample in flight stalls for it. The topic memory
therefore keeps freshly accepted samples here and writes them in one upsert once
:data:`FLUSH_ITEMS` are waiting or the oldest has waited :data:`FLUSH_AGE_S`; every read of the
memory also searches these entries, so a sample accepted a moment ago is already a near-duplicate.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from chromadb.api.models.Collection import Collection

from graph.chroma_store import topic_id

FLUSH_ITEMS = 32
FLUSH_AGE_S = 2.0


@dataclass(frozen=True, slots=True)
class PendingEntry:
    """One accepted sample waiting to be written: its user text and topic, and their vectors."""

    sample_id: str
    user_text: str
    topic: str
    metadata: dict[str, str | int | float | bool]
    user_vector: np.ndarray
    topic_vector: np.ndarray


@dataclass
class PendingWrites:
    """A bounded buffer of :class:`PendingEntry` keyed by sample id (a re-accepted id replaces its entry).

    Not thread-safe: the topic memory guards it with its Chroma lock.
    """

    max_items: int = FLUSH_ITEMS
    max_age_s: float = FLUSH_AGE_S
    _entries: dict[str, PendingEntry] = field(default_factory=dict)
    _oldest: float = 0.0

    def __len__(self) -> int:
        """Return how many entries wait."""
        return len(self._entries)

    def add(self, entry: PendingEntry) -> bool:
        """Keep ``entry``; return True when the buffer is due to be written."""
        if not self._entries:
            self._oldest = time.monotonic()
        self._entries[entry.sample_id] = entry
        return len(self._entries) >= self.max_items or time.monotonic() - self._oldest >= self.max_age_s

    def drain(self) -> list[PendingEntry]:
        """Remove and return every entry, oldest first."""
        entries, self._entries = list(self._entries.values()), {}
        return entries

    def restore(self, entries: list[PendingEntry]) -> None:
        """Put back entries whose write failed (newer entries of the same ids win)."""
        self._entries = {**{entry.sample_id: entry for entry in entries}, **self._entries}
        self._oldest = time.monotonic()

    def entries(self) -> list[PendingEntry]:
        """Return the waiting entries, oldest first."""
        return list(self._entries.values())

    def topics(self) -> set[str]:
        """Return the topics of the waiting entries."""
        return {entry.topic for entry in self._entries.values()}

    def similarities(self, vectors: np.ndarray) -> np.ndarray:
        """Return, per row of ``vectors``, its highest cosine similarity to any waiting user text or topic.

        ``-inf`` for every row when nothing waits. Vectors are unit rows (the embedder's contract).
        """
        if not self._entries:
            return np.full(len(vectors), -np.inf)
        stored = np.stack([v for entry in self._entries.values() for v in (entry.user_vector, entry.topic_vector)])
        return np.clip(np.asarray(vectors, dtype=np.float32) @ stored.T, -1.0, 1.0).max(axis=1).astype(np.float64)

    def nearest(self, vector: np.ndarray, k: int) -> list[tuple[PendingEntry, float]]:
        """Return up to ``k`` waiting entries closest to ``vector`` by user text, most similar first."""
        entries = self.entries()
        if not entries or k < 1:
            return []
        stored = np.stack([entry.user_vector for entry in entries])
        scores = np.clip(stored @ np.asarray(vector, dtype=np.float32).reshape(-1), -1.0, 1.0)
        order = np.argsort(-scores, kind="stable")[:k]
        return [(entries[index], float(scores[index])) for index in order]


def write_entries(samples: Collection, topics: Collection, entries: list[PendingEntry]) -> None:
    """Write ``entries`` with one upsert per collection (a topic accepted twice is one entry)."""
    samples.upsert(
        ids=[entry.sample_id for entry in entries],
        embeddings=np.stack([entry.user_vector for entry in entries]),
        documents=[entry.user_text for entry in entries],
        metadatas=[entry.metadata for entry in entries],
    )
    unique = {topic_id(entry.topic): entry for entry in entries if entry.topic.strip()}
    if unique:
        topics.upsert(
            ids=list(unique),
            embeddings=np.stack([entry.topic_vector for entry in unique.values()]),
            documents=[entry.topic for entry in unique.values()],
            metadatas=[{"topic": entry.topic} for entry in unique.values()],
        )
