"""Tests for graph.diversity: tokenisation, distinct-n, pairwise distance, near-duplicates, report."""

from __future__ import annotations

import numpy as np
import pytest

from graph.diversity import (
    DiversityReport,
    distinct_n,
    diversity_report,
    mean_pairwise_distance,
    near_duplicate_pairs,
    tokenize,
)
from tests.fakes import FakeEmbedder


def test_tokenize_splits_cjk_into_characters_and_latin_into_words() -> None:
    assert tokenize("Hello, World!") == ["hello", "world"]
    assert tokenize("我爱Python编程 2024") == ["我", "爱", "python", "编", "程", "2024"]
    assert tokenize("こんにちは") == ["こ", "ん", "に", "ち", "は"]
    assert tokenize("  ，。!") == []


def test_distinct_2_known_values() -> None:
    assert distinct_n(["a b c", "a b c"]) == pytest.approx(0.5)
    assert distinct_n(["a b c", "d e f"]) == pytest.approx(1.0)
    assert distinct_n(["a a a a"]) == pytest.approx(1 / 3)
    assert distinct_n([]) == 0.0
    assert distinct_n(["single"]) == 0.0  # no bigram at all


def test_distinct_2_on_chinese_character_bigrams() -> None:
    # 我很好 -> 我很, 很好 ; 你很好 -> 你很, 很好  => 3 distinct of 4
    assert distinct_n(["我很好", "你很好"]) == pytest.approx(0.75)
    assert distinct_n(["我很好。", "我很好！"]) == pytest.approx(0.5)


def test_distinct_n_other_orders() -> None:
    assert distinct_n(["a b a"], n=1) == pytest.approx(2 / 3)
    assert distinct_n(["a b c"], n=3) == pytest.approx(1.0)
    with pytest.raises(ValueError):
        distinct_n(["a"], n=0)


def test_mean_pairwise_distance_known_values() -> None:
    assert mean_pairwise_distance(np.eye(3, dtype=np.float32)) == pytest.approx(1.0)
    assert mean_pairwise_distance(np.array([[1.0, 0.0], [2.0, 0.0]])) == pytest.approx(0.0, abs=1e-6)
    assert mean_pairwise_distance(np.array([[1.0, 0.0], [-1.0, 0.0]])) == pytest.approx(2.0)
    assert mean_pairwise_distance(np.array([[1.0, 0.0]])) == 0.0
    assert mean_pairwise_distance(np.empty((0, 4))) == 0.0


def test_near_duplicate_pairs_counts_distinct_pairs() -> None:
    vectors = np.array([[1.0, 0.0], [1.0, 0.01], [0.0, 1.0], [0.99, 0.0]])
    assert near_duplicate_pairs(vectors, 0.99) == 3  # the three vectors along x
    assert near_duplicate_pairs(np.eye(4), 0.5) == 0
    assert near_duplicate_pairs(np.eye(1), 0.5) == 0


def test_diversity_report_with_fake_embedder() -> None:
    texts = ["我最近睡不着", "我最近睡不着", "信用卡年费怎么免除"]
    report = diversity_report(texts, FakeEmbedder())
    assert isinstance(report, DiversityReport)
    assert report.n == 3
    assert report.near_duplicates == 1
    assert report.distinct_2 == pytest.approx(distinct_n(texts))
    assert 0.0 < report.mean_pairwise_distance < 1.0
    empty = diversity_report([], FakeEmbedder())
    assert empty == DiversityReport(n=0, distinct_2=0.0, mean_pairwise_distance=0.0, near_duplicates=0)
