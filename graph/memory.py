"""Topic memory: what a (workspace, style) data set already covers, kept in a persistent Chroma store.

One Chroma collection per (workspace, style, embedder) holds one entry per ACCEPTED sample
(id = sample id, document = the user turns, metadata = topic and job id). A sibling collection
holds one entry per distinct accepted topic, so that topic planning can compare a candidate
with the topics already used as well as with the user turns. Embeddings always come from our
:class:`~agents.embeddings.Embedder`; Chroma's own embedding function is disabled, so nothing is
ever downloaded.

Concurrency: the sync methods are thread-safe (one lock per memory guards Chroma and the
reservations). Async code (the graph nodes) should call the ``a``-prefixed variants, which run the
sync method in a worker thread with :func:`asyncio.to_thread`. :meth:`TopicMemory.release` is
cheap and safe to call directly from async code. A Chroma directory must be used by one process
at a time (Chroma's local persistent mode is not multi-process safe).

Writes are batched (graph/memory_buffer.py): an accepted sample waits in memory, searched by every
read, until a batch is written; :meth:`TopicMemory.flush` writes what waits (a job calls it at its
end, and a resumed job re-adds the accepted samples a killed process had not written yet).
"""

from __future__ import annotations

import asyncio
import random
import threading
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection

from agents.embeddings import Embedder, cosine_matrix
from agents.schemas import Sample
from graph.chroma_store import Neighbor, _similarities, collection_name, neighbors_of, open_client, topic_id
from graph.memory_buffer import PendingEntry, PendingWrites, write_entries

TIE_TOLERANCE = 1e-6


class TopicMemory:
    """What a (workspace, style) data set already covers, and which topics are being written now."""

    def __init__(
        self,
        data_dir: Path | str,
        workspace: str,
        style: str,
        embedder: Embedder,
        *,
        rng: random.Random | None = None,
        client: ClientAPI | None = None,
    ) -> None:
        """Open (or create) the memory of one (workspace, style).

        Args:
            data_dir: Data directory; the Chroma store lives in ``data_dir/"chroma"``.
            workspace: Workspace name (any text; kept verbatim in collection metadata).
            style: Style pack name (any text; kept verbatim in collection metadata).
            embedder: Computes every embedding stored or queried.
            rng: Breaks ties in :meth:`pick_topic`; pass a seeded one for reproducible runs.
            client: An already open Chroma client on ``data_dir`` (opened here when omitted).
        """
        if not workspace.strip() or not style.strip():
            raise ValueError("workspace and style must be non-empty")
        self.workspace, self.style, self.embedder = workspace, style, embedder
        self._rng = rng if rng is not None else random.Random()
        self._lock = threading.RLock()  # Chroma reads and writes
        self._reserve_lock = threading.Lock()  # reservations only: never held while Chroma works
        self._reserved: Counter[str] = Counter()
        self._reserved_vectors: dict[str, np.ndarray] = {}
        self._pending = PendingWrites()  # guarded by self._lock
        self._client = client if client is not None else open_client(data_dir)
        name = collection_name(workspace, style, embedder.name)
        self._samples = self._open_collection(name, "samples")
        self._topics = self._open_collection(f"{name}-topics", "topics")

    def _open_collection(self, name: str, kind: str) -> Collection:
        """Get or create one cosine-space collection with no Chroma embedding function."""
        metadata: dict[str, Any] = {
            "workspace": self.workspace,
            "style": self.style,
            "embedder": self.embedder.name,
            "dim": self.embedder.dim,
            "kind": kind,
        }
        collection = self._client.get_or_create_collection(
            name,
            configuration={"hnsw": {"space": "cosine"}},
            metadata=metadata,
            embedding_function=None,
        )
        stored = collection.metadata or {}
        if stored.get("dim", self.embedder.dim) != self.embedder.dim:
            raise ValueError(
                f"collection {name} holds {stored.get('dim')}-dim vectors, embedder gives {self.embedder.dim}"
            )
        return collection

    # ----------------------------------------------------------------- writes

    def add_accepted(self, sample_id: str, user_text: str, topic: str, job_id: str | None) -> None:
        """Store an accepted sample (idempotent: the same id overwrites its entry)."""
        vectors = self.embedder.embed([user_text, topic])
        metadata: dict[str, str | int | float | bool] = {"topic": topic}
        if job_id is not None:
            metadata["job_id"] = job_id
        entry = PendingEntry(sample_id, user_text, topic, metadata, vectors[0], vectors[1])
        with self._lock:
            if self._pending.add(entry):
                self._flush_locked()

    def ensure_accepted(self, samples: Sequence[Sample]) -> int:
        """Add the accepted ``samples`` the store lacks; return how many were missing.

        A process killed before its last batch was written lost those entries; a resumed job
        puts them back (their vectors usually come from the embedding cache).
        """
        ids = [sample.id for sample in samples]
        with self._lock:
            known = set(self._samples.get(ids=ids, include=[])["ids"]) if ids else set()
            known |= {entry.sample_id for entry in self._pending.entries()}
        missing = [sample for sample in samples if sample.id not in known]
        for sample in missing:
            self.add_accepted(sample.id, sample.user_text(), sample.lineage.topic, sample.lineage.job_id)
        return len(missing)

    def flush(self) -> None:
        """Write every accepted sample still waiting in memory to the Chroma store."""
        with self._lock:
            self._flush_locked()

    def _flush_locked(self) -> None:
        """One upsert per collection for every waiting entry; on failure they wait again."""
        entries = self._pending.drain()
        if not entries:
            return
        try:
            write_entries(self._samples, self._topics, entries)
        except BaseException:
            self._pending.restore(entries)
            raise

    def reserve(self, topic: str) -> None:
        """Mark ``topic`` as being written by an in-flight sample (counted: reserve twice, release twice)."""
        vector = self.embedder.embed([topic])[0]
        with self._reserve_lock:
            self._reserve_locked(topic, vector)

    def _reserve_locked(self, topic: str, vector: np.ndarray) -> None:
        self._reserved[topic] += 1
        self._reserved_vectors[topic] = vector

    def release(self, topic: str) -> None:
        """Drop one reservation of ``topic``; releasing an unreserved topic does nothing.

        Cheap and never blocked by Chroma, so it may be called from the event loop.
        """
        with self._reserve_lock:
            if self._reserved[topic] <= 1:
                self._reserved.pop(topic, None)
                self._reserved_vectors.pop(topic, None)
            else:
                self._reserved[topic] -= 1

    def reserved(self) -> list[str]:
        """Return the topics currently reserved, sorted."""
        with self._reserve_lock:
            return sorted(self._reserved)

    # ------------------------------------------------------------------ reads

    def count(self) -> int:
        """Return the number of accepted samples stored."""
        with self._lock:
            self._flush_locked()
            return self._samples.count()

    def accepted_topics_among(self, candidates: list[str]) -> set[str]:
        """Return the candidates that are, word for word, the topic of an accepted sample."""
        if not candidates:
            return set()
        ids = {topic_id(topic): topic for topic in candidates}
        with self._lock:
            found = self._topics.get(ids=list(ids), include=[])
            waiting = self._pending.topics()
        return {ids[found_id] for found_id in found["ids"]} | (waiting & set(candidates))

    def accepted_user_texts(self) -> list[str]:
        """Return the user text of every accepted sample."""
        with self._lock:
            self._flush_locked()
            result = self._samples.get(include=["documents"])
        return [document or "" for document in result["documents"] or []]

    def nearest(self, text: str, k: int) -> list[Neighbor]:
        """Return up to ``k`` accepted samples closest to ``text``, most similar first."""
        if k < 1:
            return []
        vector = self.embedder.embed([text])
        with self._lock:
            waiting = [
                Neighbor(id=entry.sample_id, text=entry.user_text, topic=entry.topic, similarity=similarity)
                for entry, similarity in self._pending.nearest(vector[0], k)
            ]
            size = self._samples.count()
            result = None
            if size:
                result = self._samples.query(
                    query_embeddings=vector,
                    n_results=min(k, size),
                    include=["documents", "metadatas", "distances"],
                )
        stored = neighbors_of(result) if result is not None else []
        waiting_ids = {neighbor.id for neighbor in waiting}
        merged = waiting + [neighbor for neighbor in stored if neighbor.id not in waiting_ids]
        return sorted(merged, key=lambda neighbor: -neighbor.similarity)[:k]

    def near_duplicate(self, text: str, threshold: float) -> Neighbor | None:
        """Return the closest accepted sample if its similarity to ``text`` is at least ``threshold``."""
        closest = self.nearest(text, 1)
        return closest[0] if closest and closest[0].similarity >= threshold else None

    def pick_topic(self, candidates: list[str], *, reserve: bool = False) -> str:
        """Return the candidate farthest from everything covered or in flight (farthest-first).

        A candidate's score is its highest cosine similarity to any accepted user text, any
        accepted topic and any reserved topic; the lowest score wins. Ties (for instance an empty
        memory with no reservations) are broken by the injected ``random.Random``.

        Args:
            candidates: Candidate topics (at least one).
            reserve: Also reserve the winner, atomically with the choice, so concurrent callers
                cannot pick the same topic in between. The caller must :meth:`release` it later.
        """
        if not candidates:
            raise ValueError("pick_topic needs at least one candidate")
        vectors = self.embedder.embed(candidates)
        scores = np.full(len(candidates), -np.inf)
        with self._lock:
            for collection in (self._samples, self._topics):
                if collection.count():
                    result = collection.query(query_embeddings=vectors, n_results=1, include=["distances"])
                    nearest = [_similarities(row)[0] if row else -np.inf for row in result["distances"] or []]
                    scores = np.maximum(scores, np.asarray(nearest, dtype=np.float64))
            scores = np.maximum(scores, self._pending.similarities(vectors))
        with self._reserve_lock:  # choice and reservation are atomic against other pickers
            if self._reserved_vectors:
                reserved = np.stack(list(self._reserved_vectors.values()))
                scores = np.maximum(scores, cosine_matrix(vectors, reserved).max(axis=1))
            best = float(scores.min())
            tied = [index for index, score in enumerate(scores) if score <= best + TIE_TOLERANCE]
            choice = tied[0] if len(tied) == 1 else self._rng.choice(tied)
            if reserve:
                self._reserve_locked(candidates[choice], vectors[choice])
            return candidates[choice]

    # ------------------------------------------------------------------ async

    async def aflush(self) -> None:
        """Run :meth:`flush` in a worker thread."""
        await asyncio.to_thread(self.flush)

    async def aensure_accepted(self, samples: Sequence[Sample]) -> int:
        """Run :meth:`ensure_accepted` in a worker thread."""
        return await asyncio.to_thread(self.ensure_accepted, samples)

    async def aadd_accepted(self, sample_id: str, user_text: str, topic: str, job_id: str | None) -> None:
        """Run :meth:`add_accepted` in a worker thread."""
        await asyncio.to_thread(self.add_accepted, sample_id, user_text, topic, job_id)

    async def areserve(self, topic: str) -> None:
        """Run :meth:`reserve` in a worker thread."""
        await asyncio.to_thread(self.reserve, topic)

    async def acount(self) -> int:
        """Run :meth:`count` in a worker thread."""
        return await asyncio.to_thread(self.count)

    async def aaccepted_topics_among(self, candidates: list[str]) -> set[str]:
        """Run :meth:`accepted_topics_among` in a worker thread."""
        return await asyncio.to_thread(self.accepted_topics_among, candidates)

    async def aaccepted_user_texts(self) -> list[str]:
        """Run :meth:`accepted_user_texts` in a worker thread."""
        return await asyncio.to_thread(self.accepted_user_texts)

    async def anearest(self, text: str, k: int) -> list[Neighbor]:
        """Run :meth:`nearest` in a worker thread."""
        return await asyncio.to_thread(self.nearest, text, k)

    async def anear_duplicate(self, text: str, threshold: float) -> Neighbor | None:
        """Run :meth:`near_duplicate` in a worker thread."""
        return await asyncio.to_thread(self.near_duplicate, text, threshold)

    async def apick_topic(self, candidates: list[str], *, reserve: bool = False) -> str:
        """Run :meth:`pick_topic` in a worker thread."""
        return await asyncio.to_thread(self.pick_topic, candidates, reserve=reserve)
