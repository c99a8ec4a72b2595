"""Turn judgements into leaderboard rows: agreement with humans, intervals, cost, ceiling."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import numpy as np

from evals import metrics
from evals.datasets import LabelledSet, PairwiseSet, Scale
from evals.judges import JUDGE_HIGH, JUDGE_LOW, Judgement

JUDGE_SCALE = Scale(JUDGE_LOW, JUDGE_HIGH)
POINTWISE_METRICS = ("spearman", "kendall", "qwk", "exact", "within_one", "pairwise", "pairwise_ties")
PAIRWISE_METRICS = ("pairwise", "pairwise_ties")


@dataclass(frozen=True)
class Estimate:
    """A metric value with its 95% bootstrap interval."""

    value: float
    low: float = float("nan")
    high: float = float("nan")
    undefined: int = 0
    resamples: int = 0


@dataclass
class Row:
    """One judge on one data set."""

    dataset: str
    judge: str
    items: int
    scored: int
    parse_failure_rate: float
    tokens_per_judgement: float
    seconds_per_judgement: float
    metrics: dict[str, Estimate] = field(default_factory=dict)
    score_use: dict[str, int] = field(default_factory=dict)
    length_corr: float = float("nan")


def _cost(judgements: list[Judgement]) -> tuple[float, float, float]:
    if not judgements:
        return float("nan"), float("nan"), float("nan")
    failures = float(np.mean([j.score is None for j in judgements]))
    tokens = float(np.mean([j.input_tokens + j.output_tokens for j in judgements]))
    seconds = float(np.mean([j.seconds for j in judgements]))
    return failures, tokens, seconds


def _estimate(metric: metrics.Metric, human: np.ndarray, judge: np.ndarray, bootstrap: int, seed: int) -> Estimate:
    with np.errstate(all="ignore"):
        value = metric(human, judge)
    if bootstrap <= 0 or np.isnan(value):
        return Estimate(value)
    interval = metrics.bootstrap_interval(metric, human, judge, resamples=bootstrap, seed=seed)
    return Estimate(value, interval.low, interval.high, interval.undefined, interval.resamples)


def pointwise_metric_functions(
    human_scale: Scale, judge_scale: Scale
) -> dict[str, Callable[[np.ndarray, np.ndarray], float]]:
    """Return each pointwise metric as a function of (human labels, raw judge scores)."""

    def mapped(metric: Callable[[np.ndarray, np.ndarray], float]) -> metrics.Metric:
        return lambda human, judge: metric(human, metrics.rescale(judge, judge_scale, human_scale))

    return {
        "spearman": metrics.spearman,
        "kendall": metrics.kendall,
        "qwk": mapped(partial(metrics.quadratic_kappa, scale=human_scale)),
        "exact": mapped(metrics.exact_accuracy),
        "within_one": mapped(metrics.within_one),
        "pairwise": partial(metrics.all_pairs_agreement, with_ties=False),
        "pairwise_ties": partial(metrics.all_pairs_agreement, with_ties=True),
    }


def score_pointwise(
    dataset: LabelledSet, judge: str, judgements: dict[str, Judgement], *, bootstrap: int = 1000, seed: int = 0
) -> Row:
    """Compare one judge's scores with the human labels of a pointwise set.

    Items the judge could not score (parse failures, failed calls) are left out of the agreement
    metrics and counted in ``parse_failure_rate`` (parse failures) or ``items - scored``.
    """
    found = [(item, judgements[item.key]) for item in dataset.items if item.key in judgements]
    usable = [(item, j) for item, j in found if j.score is not None]
    failures, tokens, seconds = _cost([j for _, j in found])
    row = Row(dataset.name, judge, len(dataset.items), len(usable), failures, tokens, seconds)
    if len(usable) < 2:
        return row
    human = np.array([item.label for item, _ in usable], dtype=float)
    scores = np.array([j.score for _, j in usable], dtype=float)
    for name, metric in pointwise_metric_functions(dataset.scale, JUDGE_SCALE).items():
        row.metrics[name] = _estimate(metric, human, scores, bootstrap, seed)
    row.score_use = score_use(scores)
    row.length_corr = metrics.spearman(np.array([len(item.text) for item, _ in usable], dtype=float), scores)
    return row


def score_use(scores: np.ndarray) -> dict[str, int]:
    """Count how often each level 1-5 was used (continuous scores rounded half up)."""
    levels = metrics.round_half_up(np.clip(scores, JUDGE_LOW, JUDGE_HIGH)).astype(int)
    return {str(level): int(np.sum(levels == level)) for level in range(JUDGE_LOW, JUDGE_HIGH + 1)}


def human_ceiling(dataset: LabelledSet) -> Row | None:
    """Score each annotator against the median of the others; average over annotators.

    Returns None when the set has fewer than two annotator columns. The leave-one-out median is
    rounded half up onto the scale for kappa and the accuracies (with three annotators it is the
    mean of the other two, e.g. 0.5), and used as is for the rank metrics.
    """
    if len(dataset.annotator_columns) < 2 or not dataset.items:
        return None
    ratings = np.array([item.annotators for item in dataset.items], dtype=float)
    functions = pointwise_metric_functions(dataset.scale, dataset.scale)
    per_annotator: dict[str, list[float]] = {name: [] for name in functions}
    for column, reference in enumerate(metrics.leave_one_out_medians(ratings)):
        rounded = metrics.round_half_up(reference)
        for name, metric in functions.items():
            rank_metric = name in {"spearman", "kendall", "pairwise", "pairwise_ties"}
            with np.errstate(all="ignore"):
                per_annotator[name].append(metric(reference if rank_metric else rounded, ratings[:, column]))
    row = Row(dataset.name, "human ceiling", len(dataset.items), len(dataset.items), 0.0, 0.0, 0.0)
    row.metrics = {name: Estimate(float(np.nanmean(values))) for name, values in per_annotator.items()}
    lengths = np.array([len(item.text) for item in dataset.items], dtype=float)
    row.length_corr = metrics.spearman(lengths, np.array([item.label for item in dataset.items], dtype=float))
    return row


def score_pairwise(
    dataset: PairwiseSet,
    judge: str,
    judgements: dict[str, Judgement],
    keys: list[tuple[str, str]],
    *,
    bootstrap: int = 1000,
    seed: int = 0,
) -> Row:
    """Compare a judge's preferences (higher pointwise score wins) with human preferences.

    Args:
        dataset: The pairwise set.
        judge: The judge's label.
        judgements: The judge's judgements by response key.
        keys: The (a, b) response keys of each item, in item order.
        bootstrap: Bootstrap resamples (0 for none).
        seed: Bootstrap seed.
    """
    coding = {"a": 1.0, "b": -1.0, "tie": 0.0}
    human, judge_pref = [], []
    for item, (key_a, key_b) in zip(dataset.items, keys, strict=True):
        first, second = judgements.get(key_a), judgements.get(key_b)
        if first and second and first.score is not None and second.score is not None:
            human.append(coding[item.preference])
            judge_pref.append(float(np.sign(first.score - second.score)))
    used = [j for key in {k for pair in keys for k in pair} if (j := judgements.get(key))]
    failures, tokens, seconds = _cost(used)
    row = Row(dataset.name, judge, len(dataset.items), len(human), failures, tokens, seconds)
    if human:
        human_array, judge_array = np.array(human), np.array(judge_pref)
        for name, ties in (("pairwise", False), ("pairwise_ties", True)):
            metric = partial(metrics.pairwise_agreement, with_ties=ties)
            row.metrics[name] = _estimate(metric, human_array, judge_array, bootstrap, seed)
    return row
