"""Diversity metrics for a set of generated texts: distinct-n, embedding spread, near-duplicates.

All functions are pure. Tokenisation works for Chinese and English alike: every Han, Hiragana or
Katakana character is its own token (those scripts do not separate words with spaces), and any
other run of word characters (Latin, digits, Hangul, ...) is one lowercased token. Punctuation
and whitespace are dropped. N-grams never cross text boundaries.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel

from agents.embeddings import Embedder, cosine_matrix

_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f"
_TOKEN = re.compile(rf"[{_CJK}]|[^\W{_CJK}]+")

DEFAULT_NEAR_DUPLICATE_THRESHOLD = 0.92


def tokenize(text: str) -> list[str]:
    """Split text into tokens: one per CJK character, one per other word (lowercased)."""
    return [token.lower() for token in _TOKEN.findall(text)]


def distinct_n(texts: Sequence[str], n: int = 2) -> float:
    """Return distinct n-grams divided by total n-grams over all texts (0.0 when there are none).

    Args:
        texts: The texts; each is tokenised with :func:`tokenize`.
        n: The n-gram order (at least 1).
    """
    if n < 1:
        raise ValueError("n must be at least 1")
    seen: set[tuple[str, ...]] = set()
    total = 0
    for text in texts:
        tokens = tokenize(text)
        for start in range(len(tokens) - n + 1):
            seen.add(tuple(tokens[start : start + n]))
            total += 1
    return len(seen) / total if total else 0.0


def _pair_similarities(vectors: np.ndarray) -> np.ndarray:
    """Return the cosine similarities of all distinct pairs (upper triangle), flattened."""
    matrix = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
    if matrix.shape[0] < 2:
        return np.empty(0, dtype=np.float32)
    similarities = cosine_matrix(matrix, matrix)
    rows, cols = np.triu_indices(matrix.shape[0], k=1)
    return similarities[rows, cols]


def mean_pairwise_distance(vectors: np.ndarray) -> float:
    """Return the mean cosine distance (1 - cosine) over distinct pairs; 0.0 for fewer than 2 rows."""
    pairs = _pair_similarities(vectors)
    return float(np.mean(1.0 - pairs.astype(np.float64))) if pairs.size else 0.0


def near_duplicate_pairs(vectors: np.ndarray, threshold: float = DEFAULT_NEAR_DUPLICATE_THRESHOLD) -> int:
    """Count distinct pairs whose cosine similarity is at least ``threshold``."""
    return int(np.count_nonzero(_pair_similarities(vectors) >= threshold))


class DiversityReport(BaseModel):
    """How varied a set of texts is."""

    n: int
    distinct_2: float
    mean_pairwise_distance: float
    near_duplicates: int

    def summary_line(self, digits: int = 3, sep: str = ", ") -> str:
        """Return the three figures in words (the CLI's and the chat's end-of-job line)."""
        return sep.join(
            (
                f"distinct-2 {self.distinct_2:.{digits}f}",
                f"mean pairwise distance {self.mean_pairwise_distance:.{digits}f}",
                f"near-duplicate pairs {self.near_duplicates}",
            )
        )


def diversity_report(
    texts: Sequence[str], embedder: Embedder, threshold: float = DEFAULT_NEAR_DUPLICATE_THRESHOLD
) -> DiversityReport:
    """Measure distinct-2, mean pairwise embedding distance and near-duplicate pairs of ``texts``.

    Args:
        texts: The texts (typically the accepted user turns).
        embedder: Embeds the texts for the two embedding metrics.
        threshold: Cosine similarity at or above which a pair counts as a near-duplicate.
    """
    items = list(texts)
    vectors = embedder.embed(items) if items else np.empty((0, embedder.dim), dtype=np.float32)
    return DiversityReport(
        n=len(items),
        distinct_2=distinct_n(items, 2),
        mean_pairwise_distance=mean_pairwise_distance(vectors),
        near_duplicates=near_duplicate_pairs(vectors, threshold),
    )
