"""Agreement metrics between a judge and human labels, with bootstrap intervals.

Correlations come from ``scipy.stats`` (Spearman rho, Kendall tau-b), kappa from
``sklearn.metrics.cohen_kappa_score(weights="quadratic")``. Intervals are seeded percentile
bootstraps over items; resamples where a metric is undefined are counted and left out (scipy's
``bootstrap`` would turn the whole interval into nan).

Scale mapping (for kappa and the accuracies): a judge score on its scale (1-5) is rescaled
linearly onto the human scale and rounded half up, e.g. 1-5 onto 0-2 gives
1->0, 2->1 (0.5 rounds up), 3->1, 4->2 (1.5 rounds up), 5->2. Rank metrics (Spearman, Kendall,
pairwise accuracy) use the raw judge scores, so they need no mapping.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import stats
from sklearn.metrics import accuracy_score, cohen_kappa_score

from evals.datasets import Scale

Metric = Callable[[np.ndarray, np.ndarray], float]


def round_half_up(values: np.ndarray) -> np.ndarray:
    """Round to the nearest integer, halves upward (numpy's own rounding goes to even)."""
    return np.floor(np.asarray(values, dtype=float) + 0.5)


def rescale(scores: np.ndarray, source: Scale, target: Scale) -> np.ndarray:
    """Map scores linearly from one scale onto another and round half up to its levels."""
    fraction = (np.asarray(scores, dtype=float) - source.low) / (source.high - source.low)
    mapped = round_half_up(target.low + fraction * (target.high - target.low))
    return np.clip(mapped, target.low, target.high)


def spearman(human: np.ndarray, judge: np.ndarray) -> float:
    """Return Spearman's rho (nan when either side is constant)."""
    if np.ptp(human) == 0 or np.ptp(judge) == 0:
        return float("nan")
    return float(stats.spearmanr(human, judge).statistic)


def kendall(human: np.ndarray, judge: np.ndarray) -> float:
    """Return Kendall's tau-b (nan when either side is constant)."""
    if np.ptp(human) == 0 or np.ptp(judge) == 0:
        return float("nan")
    return float(stats.kendalltau(human, judge).statistic)


def quadratic_kappa(human: np.ndarray, judge: np.ndarray, scale: Scale) -> float:
    """Return quadratic-weighted Cohen's kappa of two ratings on the same integer scale."""
    if np.array_equal(human, judge):
        return 1.0
    labels = scale.levels
    value = cohen_kappa_score(human.astype(int), judge.astype(int), labels=labels, weights="quadratic")
    return float(value)


def exact_accuracy(human: np.ndarray, judge: np.ndarray) -> float:
    """Return the share of items where both ratings are equal."""
    return float(accuracy_score(human.astype(int), judge.astype(int)))


def within_one(human: np.ndarray, judge: np.ndarray) -> float:
    """Return the share of items where the ratings differ by at most one level."""
    return float(np.mean(np.abs(human - judge) <= 1))


def preference(first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """Return +1 where ``first`` scores higher, -1 where ``second`` does, 0 for a tie."""
    return np.sign(np.asarray(first, dtype=float) - np.asarray(second, dtype=float))


def pairwise_agreement(human_pref: np.ndarray, judge_pref: np.ndarray, *, with_ties: bool) -> float:
    """Score how often a judge prefers what the human preferred.

    Args:
        human_pref: +1 (a better), -1 (b better) or 0 (tie), per pair.
        judge_pref: The judge's preference in the same coding.
        with_ties: ``False``: pairs the human decided only, a judge tie counts one half (a coin
            flip). ``True``: every pair, a three-way exact match (a, b or tie).

    Returns:
        The accuracy, or nan when no pair qualifies.
    """
    if with_ties:
        return float(np.mean(human_pref == judge_pref)) if human_pref.size else float("nan")
    decided = human_pref != 0
    if not decided.any():
        return float("nan")
    hits = np.where(judge_pref[decided] == 0, 0.5, (judge_pref[decided] == human_pref[decided]).astype(float))
    return float(np.mean(hits))


def all_pairs_agreement(human: np.ndarray, judge: np.ndarray, *, with_ties: bool) -> float:
    """Apply :func:`pairwise_agreement` to every pair of items of a pointwise set."""
    first, second = np.triu_indices(len(human), k=1)
    return pairwise_agreement(
        preference(human[first], human[second]), preference(judge[first], judge[second]), with_ties=with_ties
    )


@dataclass(frozen=True)
class Interval:
    """A 95% percentile bootstrap interval and how many resamples had no value (e.g. constant scores)."""

    low: float
    high: float
    undefined: int = 0
    resamples: int = 0


def bootstrap_interval(
    metric: Metric, human: np.ndarray, judge: np.ndarray, *, resamples: int = 1000, seed: int = 0
) -> Interval:
    """Return a 95% percentile bootstrap interval of ``metric`` over items (paired resampling).

    A resample whose metric is undefined (a rank correlation of a resample where every score is
    the same, common for judges that use two or three levels) is left out and counted, rather
    than voiding the whole interval; with no defined resample the interval is (nan, nan).
    """
    if len(human) < 3 or resamples <= 0:
        return Interval(float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    values = []
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(resamples):
            picked = rng.integers(0, len(human), len(human))
            values.append(metric(human[picked], judge[picked]))
    defined = np.asarray([value for value in values if not np.isnan(value)], dtype=float)
    undefined = resamples - len(defined)
    if not len(defined):
        return Interval(float("nan"), float("nan"), undefined, resamples)
    low, high = np.percentile(defined, [2.5, 97.5])
    return Interval(float(low), float(high), undefined, resamples)


def leave_one_out_medians(ratings: np.ndarray) -> list[np.ndarray]:
    """For each annotator column, return the median of the other annotators, per item."""
    columns = ratings.shape[1]
    return [np.median(np.delete(ratings, index, axis=1), axis=1) for index in range(columns)]
