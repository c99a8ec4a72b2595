import numpy as np

from agents.embedding_cache import CachingEmbedder
from tests.fakes import FakeEmbedder


class CountingEmbedder(FakeEmbedder):
    def __init__(self) -> None:
        self.seen: list[str] = []

    def embed(self, texts):  # type: ignore[no-untyped-def]
        self.seen.extend(texts)
        return super().embed(texts)


def test_same_vectors_as_inner_and_each_text_embedded_once() -> None:
    inner = CountingEmbedder()
    cached = CachingEmbedder(inner)
    first = cached.embed(["a b", "c d", "a b"])
    second = cached.embed(["c d", "e f"])
    assert np.allclose(first, FakeEmbedder().embed(["a b", "c d", "a b"]))
    assert np.allclose(second, FakeEmbedder().embed(["c d", "e f"]))
    assert inner.seen == ["a b", "c d", "e f"]
    assert (cached.hits, cached.misses) == (2, 3)
    assert cached.name == inner.name and cached.dim == inner.dim


def test_bounded_lru() -> None:
    inner = CountingEmbedder()
    cached = CachingEmbedder(inner, max_items=2)
    cached.embed(["x"])
    cached.embed(["y"])
    cached.embed(["x"])  # x is now the most recent
    cached.embed(["z"])  # evicts y
    cached.embed(["x", "y"])
    assert inner.seen == ["x", "y", "z", "y"]
    assert cached.embed([]).shape == (0, inner.dim)


def test_concurrent_requests_are_batched_and_errors_reach_every_waiter() -> None:
    import threading
    import time

    class SlowEmbedder(CountingEmbedder):
        calls = 0

        def embed(self, texts):  # type: ignore[no-untyped-def]
            self.calls += 1
            time.sleep(0.05)
            return super().embed(texts)

    inner = SlowEmbedder()
    cached = CachingEmbedder(inner)
    results: dict[int, np.ndarray] = {}

    def worker(index: int) -> None:
        results[index] = cached.embed([f"text {index}"])

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert inner.calls < 8  # at least some requests shared a call
    for index, vector in results.items():
        assert np.allclose(vector, FakeEmbedder().embed([f"text {index}"]))

    class Broken(FakeEmbedder):
        def embed(self, texts):  # type: ignore[no-untyped-def]
            raise RuntimeError("model gone")

    broken = CachingEmbedder(Broken())
    try:
        broken.embed(["x"])
    except RuntimeError as exc:
        assert "model gone" in str(exc)
    else:
        raise AssertionError("the error must reach the caller")
    assert broken.embed.__self__._busy is False  # the next caller can lead again
