"""An approximate nearest-neighbour index of unit vectors for one cleaning run: Chroma's HNSW.

Chroma (already the product's vector store) ships its own HNSW index (Rust, in the ``chromadb``
wheel; ``chroma-hnswlib`` is no longer a dependency of chromadb 1.x, so ``hnswlib`` is not
installed). The index lives in a private temporary folder (Chroma's SQLite log of the vectors is
on disk there); :meth:`close` drops it. Vectors are known by their row number; the caller maps
numbers to its own ids. Chroma is not frugal: the process grew by ~8 KB a 384-dim vector at
20,000 vectors and ~4.9 KB at 50,000 (so ~0.5 GB per 100,000 kept rows), and took ~240 adds/s
under load 16 (``/tmp``-folder measurement, 2026-12-02); a bare HNSW library (hnswlib, faiss)
would hold ~1.6 KB, but none is installed.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np

MAX_NEIGHBOURS = 16
EF_SEARCH = 64
"""Candidates kept per query (Chroma's default is 100; 64 is plenty for the one nearest neighbour asked)."""


class VectorIndex:
    """Row number -> unit vector, with the nearest stored row of each query (cosine)."""

    def __init__(self) -> None:
        """Open an empty index in a new temporary folder."""
        import chromadb
        from chromadb.config import Settings

        self.folder = Path(tempfile.mkdtemp(prefix="dialogforge-vectors-"))
        self._client = chromadb.PersistentClient(path=str(self.folder), settings=Settings(anonymized_telemetry=False))
        self._batch = self._client.get_max_batch_size()
        self._collection = self._client.create_collection(
            "rows",
            configuration={"hnsw": {"space": "cosine", "max_neighbors": MAX_NEIGHBOURS, "ef_search": EF_SEARCH}},
        )
        self.count = 0

    def nearest(self, vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return per query the nearest stored row and its cosine similarity (-1 and -inf when empty)."""
        rows = np.full(len(vectors), -1, dtype=np.int64)
        similarity = np.full(len(vectors), -np.inf, dtype=np.float32)
        if not self.count or not len(vectors):
            return rows, similarity
        for start in range(0, len(vectors), self._batch):
            chunk = vectors[start : start + self._batch]
            found = self._collection.query(query_embeddings=chunk, n_results=1, include=["distances"])
            for offset, (ids, distances) in enumerate(zip(found["ids"], found["distances"] or [], strict=True)):
                if ids:
                    rows[start + offset] = int(ids[0])
                    similarity[start + offset] = 1.0 - float(distances[0])
        return rows, similarity

    def add(self, vectors: np.ndarray) -> np.ndarray:
        """Store vectors under the next row numbers; return those numbers."""
        rows = np.arange(self.count, self.count + len(vectors), dtype=np.int64)
        for start in range(0, len(vectors), self._batch):
            chunk = slice(start, start + self._batch)
            self._collection.add(ids=[str(row) for row in rows[chunk]], embeddings=vectors[chunk])
        self.count += len(vectors)
        return rows

    def close(self) -> None:
        """Release Chroma and delete the folder (idempotent)."""
        if self.folder.exists():
            getattr(self._client, "close", lambda: None)()  # chromadb's Client has it; its ClientAPI type does not
            shutil.rmtree(self.folder, ignore_errors=True)
