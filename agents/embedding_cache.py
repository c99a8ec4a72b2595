"""A bounded LRU cache and a micro-batcher in front of any embedder.

The loop embeds the same texts again and again (candidate topics on every pick, the style's seed
replies on every exemplar check), and many samples in flight ask for one or two new vectors at a
time. The cache removes the repeats; the batcher turns concurrent small requests into one call to
the model (leader/follower: the first waiting thread embeds everything queued, the others wait),
which is several times faster than one call per text on a CPU.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from agents.embeddings import Embedder

DEFAULT_MAX_ITEMS = 20_000


@dataclass
class _Request:
    texts: list[str]
    done: threading.Event = field(default_factory=threading.Event)
    vectors: dict[str, np.ndarray] = field(default_factory=dict)
    error: BaseException | None = None


class CachingEmbedder:
    """Wrap an embedder with a thread-safe LRU cache of at most ``max_items`` vectors and batching."""

    def __init__(self, inner: Embedder, max_items: int = DEFAULT_MAX_ITEMS) -> None:
        """Keep the wrapped embedder; name and dimension are the inner one's."""
        if max_items < 1:
            raise ValueError("max_items must be at least 1")
        self.inner, self.max_items = inner, max_items
        self.name, self.dim = inner.name, inner.dim
        self.hits = 0
        self.misses = 0
        self.batches = 0
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self._pending: list[_Request] = []
        self._busy = False

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Return one unit row per text, embedding only the texts not seen recently."""
        items = list(texts)
        if not items:
            return np.empty((0, self.dim), dtype=np.float32)
        with self._lock:
            found = {text: self._cache[text] for text in items if text in self._cache}
            missing = list(dict.fromkeys(text for text in items if text not in found))
            self.hits += len(items) - len(missing)
            self.misses += len(missing)
        if missing:
            found.update(self._embed_batched(missing))
        with self._lock:
            for text in dict.fromkeys(items):
                self._cache[text] = found[text]
                self._cache.move_to_end(text)
            while len(self._cache) > self.max_items:
                self._cache.popitem(last=False)
        return np.stack([found[text] for text in items]).astype(np.float32)

    def _embed_batched(self, texts: list[str]) -> dict[str, np.ndarray]:
        """Embed ``texts`` together with whatever other threads are waiting for."""
        request = _Request(texts)
        with self._lock:
            self._pending.append(request)
            leader = not self._busy
            self._busy = True
        if leader:
            self._serve()
        request.done.wait()
        if request.error is not None:
            raise request.error
        return request.vectors

    def _serve(self) -> None:
        """As leader, embed queued requests batch by batch until none is left."""
        while True:
            with self._lock:
                batch, self._pending = self._pending, []
                if not batch:
                    self._busy = False
                    return
            unique = list(dict.fromkeys(text for request in batch for text in request.texts))
            try:
                vectors = dict(zip(unique, self.inner.embed(unique), strict=True))
                self.batches += 1
            except BaseException as exc:  # every waiter must wake up, with the error
                for request in batch:
                    request.error = exc
                    request.done.set()
                continue
            for request in batch:
                request.vectors = {text: vectors[text] for text in request.texts}
                request.done.set()
