import numpy as np
import pytest

from agents.embedding_cache import CachingEmbedder
from tests.fakes import FakeEmbedder, RecordingEmbedder


def test_same_vectors_as_inner_and_each_text_embedded_once() -> None:
    inner = RecordingEmbedder()
    cached = CachingEmbedder(inner)
    first = cached.embed(["a b", "c d", "a b"])
    second = cached.embed(["c d", "e f"])
    assert np.allclose(first, FakeEmbedder().embed(["a b", "c d", "a b"]))
    assert np.allclose(second, FakeEmbedder().embed(["c d", "e f"]))
    assert inner.seen == ["a b", "c d", "e f"]
    assert (cached.hits, cached.misses) == (2, 3)
    assert cached.name == inner.name and cached.dim == inner.dim


def test_bounded_lru() -> None:
    inner = RecordingEmbedder()
    cached = CachingEmbedder(inner, max_items=2)
    cached.embed(["x"])
    cached.embed(["y"])
    cached.embed(["x"])  # x is now the most recent
    cached.embed(["z"])  # evicts y
    cached.embed(["x", "y"])
    assert inner.seen == ["x", "y", "z", "y"]
    assert cached.embed([]).shape == (0, inner.dim)


def test_concurrent_requests_are_batched() -> None:
    import threading
    import time

    class SlowEmbedder(RecordingEmbedder):
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

    assert cached.busy_s >= 0.05 * inner.calls


def test_an_error_reaches_the_caller_and_the_worker_survives_it() -> None:
    class FlakyEmbedder(FakeEmbedder):
        fail = True

        def embed(self, texts):  # type: ignore[no-untyped-def]
            if self.fail:
                self.fail = False
                raise RuntimeError("model gone")
            return super().embed(texts)

    flaky = CachingEmbedder(FlakyEmbedder())
    with pytest.raises(RuntimeError, match="model gone"):
        flaky.embed(["x"])
    assert np.allclose(flaky.embed(["x"]), FakeEmbedder().embed(["x"]))  # the worker thread lives on


def test_a_caller_waits_only_for_its_own_batch() -> None:
    """Requests arriving while the model works are embedded together in the next batch."""
    import threading
    import time

    class GatedEmbedder(RecordingEmbedder):
        def __init__(self) -> None:
            super().__init__()
            self.started = threading.Event()
            self.release = threading.Event()
            self.batches: list[list[str]] = []

        def embed(self, texts):  # type: ignore[no-untyped-def]
            self.batches.append(list(texts))
            self.started.set()
            self.release.wait(5)
            return super().embed(texts)

    inner = GatedEmbedder()
    cached = CachingEmbedder(inner)
    first = threading.Thread(target=cached.embed, args=(["first"],))
    first.start()
    assert inner.started.wait(5)
    later = [threading.Thread(target=cached.embed, args=([f"later {index}"],)) for index in range(3)]
    for thread in later:
        thread.start()
    deadline = time.monotonic() + 5
    while cached._queue.qsize() < 3 and time.monotonic() < deadline:  # the three queue up behind the batch
        time.sleep(0.01)
    inner.release.set()
    for thread in [first, *later]:
        thread.join(5)
        assert not thread.is_alive()
    assert inner.batches[0] == ["first"]
    assert len(inner.batches) == 2 and sorted(inner.batches[1]) == ["later 0", "later 1", "later 2"]


def test_a_remote_embedder_gets_several_calls_in_flight() -> None:
    """With ``parallel_calls`` 2, a request is sent while another call still waits for its answer."""
    import threading

    class GatedRemote(RecordingEmbedder):
        parallel_calls = 2

        def __init__(self) -> None:
            super().__init__()
            self.started, self.release = threading.Event(), threading.Event()
            self.in_flight = 0
            self.max_in_flight = 0
            self.lock = threading.Lock()

        def embed(self, texts):  # type: ignore[no-untyped-def]
            with self.lock:
                self.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
            if texts == ["slow"]:
                self.started.set()
                self.release.wait(5)
            with self.lock:
                self.in_flight -= 1
            return super().embed(texts)

    inner = GatedRemote()
    cached = CachingEmbedder(inner)
    assert cached.workers == 2 and CachingEmbedder(FakeEmbedder()).workers == 1
    slow = threading.Thread(target=cached.embed, args=(["slow"],))
    slow.start()
    assert inner.started.wait(5)
    assert np.allclose(cached.embed(["fast"]), FakeEmbedder().embed(["fast"]))  # answered while "slow" waits
    assert slow.is_alive() and inner.max_in_flight == 2
    inner.release.set()
    slow.join(5)
    assert not slow.is_alive()
