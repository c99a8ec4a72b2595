"""Metric functions against scipy/sklearn and known values."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import cohen_kappa_score

from evals import metrics
from evals.datasets import Scale

HUMAN = np.array([0, 1, 2, 2, 1, 0, 2, 1, 0, 1], dtype=float)
JUDGE = np.array([1, 3, 5, 4, 2, 1, 5, 3, 2, 4], dtype=float)


def test_correlations_match_scipy() -> None:
    assert metrics.spearman(HUMAN, JUDGE) == pytest.approx(stats.spearmanr(HUMAN, JUDGE).statistic)
    assert metrics.kendall(HUMAN, JUDGE) == pytest.approx(stats.kendalltau(HUMAN, JUDGE).statistic)


def test_correlation_of_constant_is_nan() -> None:
    assert np.isnan(metrics.spearman(HUMAN, np.ones_like(HUMAN)))
    assert np.isnan(metrics.kendall(np.ones_like(HUMAN), JUDGE))


def test_rescale_one_to_five_onto_zero_to_two() -> None:
    mapped = metrics.rescale(np.array([1, 2, 3, 4, 5]), Scale(1, 5), Scale(0, 2))
    assert mapped.tolist() == [0, 1, 1, 2, 2]
    assert metrics.rescale(np.array([1.0, 5.0]), Scale(1, 5), Scale(1, 5)).tolist() == [1, 5]


def test_kappa_matches_sklearn_and_identity_is_one() -> None:
    scale = Scale(0, 2)
    mapped = metrics.rescale(JUDGE, Scale(1, 5), scale)
    expected = cohen_kappa_score(HUMAN.astype(int), mapped.astype(int), weights="quadratic", labels=[0, 1, 2])
    assert metrics.quadratic_kappa(HUMAN, mapped, scale) == pytest.approx(expected)
    assert metrics.quadratic_kappa(HUMAN, HUMAN.copy(), scale) == 1.0
    assert metrics.quadratic_kappa(np.full(4, 2.0), np.full(4, 2.0), scale) == 1.0


def test_accuracies() -> None:
    human = np.array([0, 1, 2, 2])
    judge = np.array([0, 2, 0, 2])
    assert metrics.exact_accuracy(human, judge) == 0.5
    assert metrics.within_one(human, judge) == 0.75


def test_pairwise_agreement_with_and_without_ties() -> None:
    human = np.array([1, -1, 0, 1])
    judge = np.array([1, 1, 0, 0])
    # decided pairs: +1 (hit), -1 (miss), +1 (judge tie = 0.5) -> 1.5 / 3
    assert metrics.pairwise_agreement(human, judge, with_ties=False) == pytest.approx(0.5)
    # three-way exact match over all four: hit, miss, hit, miss
    assert metrics.pairwise_agreement(human, judge, with_ties=True) == pytest.approx(0.5)
    assert np.isnan(metrics.pairwise_agreement(np.zeros(3), np.ones(3), with_ties=False))


def test_all_pairs_agreement_perfect_order() -> None:
    human = np.array([0, 1, 2, 2])
    assert metrics.all_pairs_agreement(human, human * 2 + 1, with_ties=False) == 1.0
    assert metrics.all_pairs_agreement(human, human * 2 + 1, with_ties=True) == 1.0
    assert metrics.all_pairs_agreement(human, -human, with_ties=False) == 0.0


def test_bootstrap_interval_contains_estimate_and_is_seeded() -> None:
    rng = np.random.default_rng(1)
    human = rng.integers(0, 3, 60).astype(float)
    judge = human * 2 + 1 + rng.normal(0, 1.2, 60)
    interval = metrics.bootstrap_interval(metrics.spearman, human, judge, resamples=300, seed=3)
    assert interval.low < metrics.spearman(human, judge) < interval.high and interval.undefined == 0
    assert interval == metrics.bootstrap_interval(metrics.spearman, human, judge, resamples=300, seed=3)


def test_resamples_with_constant_scores_are_counted_not_fatal() -> None:
    human = np.array([0, 1, 2, 0, 1, 2, 2, 1, 0, 1], dtype=float)
    judge = np.array([4, 4, 5, 4, 4, 4, 4, 4, 4, 4], dtype=float)  # one 5 among 4s: many resamples are constant
    interval = metrics.bootstrap_interval(metrics.spearman, human, judge, resamples=400, seed=0)
    assert 0 < interval.undefined < 400 and interval.resamples == 400
    assert not np.isnan(interval.low) and interval.low <= interval.high
    constant = metrics.bootstrap_interval(metrics.spearman, human, np.full(10, 4.0), resamples=50, seed=0)
    assert np.isnan(constant.low) and constant.undefined == 50


def test_leave_one_out_medians() -> None:
    ratings = np.array([[0, 1, 2], [2, 2, 0]], dtype=float)
    first, second, third = metrics.leave_one_out_medians(ratings)
    assert first.tolist() == [1.5, 1.0]
    assert second.tolist() == [1.0, 1.0]
    assert third.tolist() == [0.5, 2.0]
