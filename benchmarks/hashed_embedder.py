"""A near-free, deterministic embedder: hashed character bigrams (similar text, similar vector).

Not semantic. The pipeline-overhead benchmark and the fake server's ``/v1/embeddings`` use it to
take the embedding model's cost out of a measurement; the tests use it as their fake embedder
(``tests.fakes.FakeEmbedder``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

HASHED_DIM = 64


class HashedBigramEmbedder:
    """Embed text as a normalised bag of hashed character bigrams."""

    name = "fake-bigram-64"
    dim = HASHED_DIM

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Return one unit vector per text, shape (len(texts), HASHED_DIM)."""
        vectors = np.zeros((len(texts), HASHED_DIM), dtype=np.float32)
        for row, text in enumerate(texts):
            padded = f" {text.strip().lower()} "
            for index in range(len(padded) - 1):
                digest = hashlib.md5(padded[index : index + 2].encode()).digest()
                vectors[row, digest[0] % HASHED_DIM] += 1.0
            norm = np.linalg.norm(vectors[row])
            vectors[row] = vectors[row] / norm if norm else vectors[row]
        return vectors
