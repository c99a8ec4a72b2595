"""A bounded LRU cache and micro-batching workers in front of any embedder.

The loop embeds the same texts again and again (candidate topics on every pick, the style's seed
replies on every exemplar check), and many samples in flight ask for one or two new vectors at a
time. The cache removes the repeats; a worker thread embeds, in one call to the model, whatever
all waiting callers asked for meanwhile. A caller waits only for the batch that holds its texts
(an earlier design let the first caller embed for everyone, which kept it waiting for strangers'
texts whenever requests kept arriving). A local model gets one worker; a remote one as many as
its ``parallel_calls``. With a ``disk`` call cache, vectors embedded by earlier jobs or runs of
the data directory are read from it instead of being embedded again.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from agents.call_cache import CallCache, call_key
from agents.embeddings import Embedder

DEFAULT_MAX_ITEMS = 20_000
MAX_QUEUED_REQUESTS = 1024  # callers block (backpressure) beyond this
MAX_TEXTS_PER_BATCH = 64


@dataclass
class _Request:
    texts: list[str]
    done: threading.Event = field(default_factory=threading.Event)
    vectors: dict[str, np.ndarray] = field(default_factory=dict)
    error: BaseException | None = None


class CachingEmbedder:
    """Wrap an embedder with a thread-safe LRU cache of at most ``max_items`` vectors and batching.

    ``busy_s`` is the time spent in the model's calls (summed over workers), for profiles
    (benchmarks print it).
    """

    def __init__(self, inner: Embedder, max_items: int = DEFAULT_MAX_ITEMS, disk: CallCache | None = None) -> None:
        """Keep the wrapped embedder; name and dimension are the inner one's."""
        if max_items < 1:
            raise ValueError("max_items must be at least 1")
        self.inner, self.max_items = inner, max_items
        self.name, self.dim = inner.name, inner.dim
        self.disk = disk
        self.hits = 0
        self.misses = 0
        self.disk_hits = 0
        self.batches = 0
        self.busy_s = 0.0
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self._queue: queue.Queue[_Request] = queue.Queue(maxsize=MAX_QUEUED_REQUESTS)
        # A local model takes one batch at a time (it already uses every core); a remote one may
        # say how many calls it can have in flight (``parallel_calls``), so a caller never waits
        # for a stranger's round trip.
        self.workers = max(1, int(getattr(inner, "parallel_calls", 1)))
        self._threads: list[threading.Thread] = []

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
        if missing and self.disk is not None:
            stored = self._from_disk(missing)
            found.update(stored)
            missing = [text for text in missing if text not in stored]
        if missing:
            fresh = self._embed_batched(missing)
            found.update(fresh)
            if self.disk is not None:
                self.disk.put_many("embedding", {self._key(text): fresh[text].tobytes() for text in missing})
        with self._lock:
            for text in dict.fromkeys(items):
                self._cache[text] = found[text]
                self._cache.move_to_end(text)
            while len(self._cache) > self.max_items:
                self._cache.popitem(last=False)
        return np.stack([found[text] for text in items]).astype(np.float32)

    def remember(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Keep vectors another process embedded with the same model (a Ray worker's) as if embedded here."""
        if vectors.shape != (len(texts), self.dim):
            raise ValueError(f"expected {len(texts)} vectors of {self.dim} values, got shape {vectors.shape}")
        with self._lock:
            for text, vector in zip(texts, vectors, strict=True):
                self._cache[text] = vector.astype(np.float32)
                self._cache.move_to_end(text)
            while len(self._cache) > self.max_items:
                self._cache.popitem(last=False)

    def _key(self, text: str) -> str:
        return call_key(kind="embedding", embedder=self.name, text=text)

    def _from_disk(self, texts: list[str]) -> dict[str, np.ndarray]:
        """Vectors of ``texts`` stored by earlier jobs (rows of the wrong size are ignored)."""
        assert self.disk is not None
        keys = {self._key(text): text for text in texts}
        found = {}
        for key, value in self.disk.get_many(list(keys)).items():
            vector = np.frombuffer(value, dtype=np.float32)
            if vector.shape == (self.dim,):
                found[keys[key]] = vector.copy()
        with self._lock:
            self.disk_hits += len(found)
        return found

    def _embed_batched(self, texts: list[str]) -> dict[str, np.ndarray]:
        """Hand ``texts`` to the worker thread and wait for their vectors."""
        request = _Request(texts)
        with self._lock:
            if not self._threads:  # started on first use, so an unused cache costs no thread
                for index in range(self.workers):
                    thread = threading.Thread(target=self._serve, name=f"embedding-worker-{index}", daemon=True)
                    thread.start()
                    self._threads.append(thread)
        self._queue.put(request)
        request.done.wait()
        if request.error is not None:
            raise request.error
        return request.vectors

    def _next_batch(self) -> list[_Request]:
        """Wait for one request, then take every other queued one, up to ``MAX_TEXTS_PER_BATCH`` texts."""
        batch = [self._queue.get()]
        size = len(batch[0].texts)
        while size < MAX_TEXTS_PER_BATCH:
            try:
                request = self._queue.get_nowait()
            except queue.Empty:
                break
            batch.append(request)
            size += len(request.texts)
        return batch

    def _serve(self) -> None:
        """A worker: embed queued requests batch by batch, forever (a daemon thread)."""
        while True:
            batch = self._next_batch()
            unique = list(dict.fromkeys(text for request in batch for text in request.texts))
            started = time.perf_counter()
            try:
                vectors = dict(zip(unique, self.inner.embed(unique), strict=True))
            except BaseException as exc:  # every waiter must wake up, with the error
                for request in batch:
                    request.error = exc
                    request.done.set()
                continue
            finally:
                with self._lock:
                    self.busy_s += time.perf_counter() - started
            with self._lock:
                self.batches += 1
            for request in batch:
                request.vectors = {text: vectors[text] for text in request.texts}
                request.done.set()
