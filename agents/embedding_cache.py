"""A bounded LRU cache in front of any embedder: the same text is embedded once.

The loop embeds the same texts again and again (candidate topics on every pick, the style's
seed replies on every exemplar check); caching them removes most embedding work from a job.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from agents.embeddings import Embedder

DEFAULT_MAX_ITEMS = 20_000


class CachingEmbedder:
    """Wrap an embedder with a thread-safe LRU cache of at most ``max_items`` vectors."""

    def __init__(self, inner: Embedder, max_items: int = DEFAULT_MAX_ITEMS) -> None:
        """Keep the wrapped embedder; name and dimension are the inner one's."""
        if max_items < 1:
            raise ValueError("max_items must be at least 1")
        self.inner, self.max_items = inner, max_items
        self.name, self.dim = inner.name, inner.dim
        self.hits = 0
        self.misses = 0
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Return one unit row per text, embedding only the texts not seen recently."""
        items = list(texts)
        with self._lock:
            missing = list(dict.fromkeys(text for text in items if text not in self._cache))
            self.hits += len(items) - len(missing)
            self.misses += len(missing)
        fresh = self.inner.embed(missing) if missing else np.empty((0, self.dim), dtype=np.float32)
        with self._lock:
            for text, vector in zip(missing, fresh, strict=True):
                self._cache[text] = vector
            rows = [self._cache.get(text) for text in items]
            for text in items:
                if text in self._cache:
                    self._cache.move_to_end(text)
            while len(self._cache) > self.max_items:
                self._cache.popitem(last=False)
        found = dict(zip(missing, fresh, strict=True))
        vectors = [row if row is not None else found[text] for row, text in zip(rows, items, strict=True)]
        return np.stack(vectors).astype(np.float32) if vectors else np.empty((0, self.dim), dtype=np.float32)
