"""Tests for agents.embeddings: the Embedder contract, make_embedder errors and the real e5 model."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from agents.embeddings import (
    E5Embedder,
    Embedder,
    EmbedderUnavailableError,
    SentenceTransformerEmbedder,
    cosine_matrix,
    make_embedder,
)
from tests.fakes import FAKE_DIM, FakeEmbedder


def check_contract(embedder: Embedder, texts: list[str]) -> np.ndarray:
    vectors = embedder.embed(texts)
    assert isinstance(vectors, np.ndarray)
    assert vectors.dtype == np.float32
    assert vectors.shape == (len(texts), embedder.dim)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    return vectors


def test_fake_embedder_honours_the_contract() -> None:
    embedder = FakeEmbedder()
    assert isinstance(embedder, Embedder)
    assert embedder.dim == FAKE_DIM
    vectors = check_contract(embedder, ["hello world", "你好，世界", "x"])
    np.testing.assert_array_equal(vectors, embedder.embed(["hello world", "你好，世界", "x"]))


def test_cosine_matrix_values_and_shapes() -> None:
    a = np.array([[1.0, 0.0], [0.0, 2.0]])
    b = np.array([[3.0, 0.0], [-1.0, 0.0], [0.0, 0.0]])
    sims = cosine_matrix(a, b)
    assert sims.shape == (2, 3)
    np.testing.assert_allclose(sims, [[1.0, -1.0, 0.0], [0.0, 0.0, 0.0]], atol=1e-6)
    assert cosine_matrix(np.array([1.0, 1.0]), np.array([1.0, 1.0])).shape == (1, 1)
    with pytest.raises(ValueError, match="dimension"):
        cosine_matrix(np.ones((1, 2)), np.ones((1, 3)))


def test_make_embedder_rejects_an_empty_spec() -> None:
    with pytest.raises(ValueError, match="empty"):
        make_embedder("  ")


def test_make_embedder_explains_a_missing_sentence_transformers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)  # makes the import fail
    with pytest.raises(EmbedderUnavailableError, match=r"pip install torch==2\.13\.0 sentence-transformers"):
        make_embedder("sentence-transformers/all-MiniLM-L6-v2")
    with pytest.raises(EmbedderUnavailableError):
        SentenceTransformerEmbedder("/no/such/model")


def test_make_embedder_default_is_e5() -> None:
    embedder = make_embedder()
    assert isinstance(embedder, E5Embedder)
    assert isinstance(make_embedder(" E5 "), E5Embedder)


def test_e5_embedder_contract_and_chinese_paraphrase() -> None:
    embedder = E5Embedder(batch_size=2)
    assert embedder.dim == 384
    assert embedder.embed([]).shape == (0, 384)
    texts = [
        "我最近工作压力很大，晚上总是睡不着。",
        "最近上班压力太大了，我每晚都失眠。",
        "请问信用卡的年费怎么免除？",
        "How do I waive the annual fee on my credit card?",
        "The weather is lovely at the beach today.",
    ]
    vectors = check_contract(embedder, texts)
    sims = cosine_matrix(vectors, vectors)
    assert sims[0, 1] > sims[0, 2] + 0.05  # zh paraphrase closer than an unrelated zh sentence
    assert sims[2, 3] > sims[3, 4]  # cross-lingual paraphrase closer than unrelated English
    # neither batching nor the thread count changes the result
    np.testing.assert_allclose(vectors, E5Embedder(batch_size=32, num_threads=1).embed(texts), atol=1e-4)
    with pytest.raises(ValueError):
        E5Embedder(num_threads=0)
