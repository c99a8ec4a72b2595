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
