"""Fit per-criterion pass thresholds so that "the judge passes" reproduces "the reviewer accepts".

The judge passes a sample when every criterion's score is at or above its threshold (the engine's
rule). Given reviewed items with the judge's scores and the reviewers' final accept/reject, the
fit tries every combination of thresholds 1-5 (5^k for k criteria; the rubric has a handful) on
one part of the items and keeps the one with the best objective, ties going to the thresholds
closest to the pack's own; precision, recall and accuracy of "judge passes" against "reviewer
accepts" are then reported on the *other* part, before (the pack's thresholds) and after. The split
is stratified by the reviewers' decision and seeded.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from agents.styles import StylePack
from evals.datasets import stratified_indices

OBJECTIVES = ("balanced_accuracy", "f1", "accuracy")
MAX_COMBINATIONS = 1_000_000


@dataclass(frozen=True)
class LabelledVerdict:
    """One reviewed item: the judge's score per criterion and whether the reviewers accepted it."""

    sample_id: str
    scores: dict[str, int]
    accepted: bool


@dataclass(frozen=True)
class Agreement:
    """How "judge passes" matches "reviewer accepts" on a set of items."""

    items: int
    precision: float | None
    recall: float | None
    accuracy: float | None
    balanced_accuracy: float | None
    f1: float | None
    passed: int


@dataclass(frozen=True)
class Calibration:
    """The fitted thresholds and how both threshold sets do on the fit and held-out items."""

    before: dict[str, int]
    after: dict[str, int]
    objective: str
    fit_items: int
    test_items: int
    fit_before: Agreement
    fit_after: Agreement
    test_before: Agreement
    test_after: Agreement


def passes(scores: dict[str, int], thresholds: dict[str, int]) -> bool:
    """Whether every criterion scores at or above its threshold (a missing score fails)."""
    return all(scores.get(name, 0) >= threshold for name, threshold in thresholds.items())


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def measure(items: Sequence[LabelledVerdict], thresholds: dict[str, int]) -> Agreement:
    """Return precision, recall, accuracy, balanced accuracy and F1 of "passes" for "accepted"."""
    predicted = [passes(item.scores, thresholds) for item in items]
    actual = [item.accepted for item in items]
    tp = sum(p and a for p, a in zip(predicted, actual, strict=True))
    fp = sum(p and not a for p, a in zip(predicted, actual, strict=True))
    fn = sum(a and not p for p, a in zip(predicted, actual, strict=True))
    tn = len(items) - tp - fp - fn
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    specificity = _ratio(tn, tn + fp)
    balanced = (recall + specificity) / 2 if recall is not None and specificity is not None else None
    f1 = _ratio(2 * tp, 2 * tp + fp + fn)
    return Agreement(len(items), precision, recall, _ratio(tp + tn, len(items)), balanced, f1, sum(predicted))


def fit_thresholds(
    items: Sequence[LabelledVerdict], current: dict[str, int], objective: str = "balanced_accuracy"
) -> dict[str, int]:
    """Return the thresholds (1-5 per criterion) that maximise ``objective`` on ``items``."""
    if objective not in OBJECTIVES:
        raise ValueError(f"unknown objective {objective!r}; use one of {', '.join(OBJECTIVES)}")
    names = sorted(current)
    if 5 ** len(names) > MAX_COMBINATIONS:
        raise ValueError(f"{len(names)} criteria are too many to search exhaustively")
    scores = np.array([[item.scores.get(name, 0) for name in names] for item in items], dtype=int).reshape(
        len(items), len(names)
    )
    accepted = np.array([item.accepted for item in items], dtype=bool)
    best: tuple[float, int, tuple[int, ...]] | None = None
    for combination in itertools.product(range(1, 6), repeat=len(names)):
        predicted = np.all(scores >= np.array(combination), axis=1) if names else np.ones(len(items), bool)
        value = _objective(predicted, accepted, objective)
        distance = sum(abs(t - current[n]) for t, n in zip(combination, names, strict=True))
        key = (value, -distance, combination)
        if best is None or key[:2] > best[:2]:
            best = key
    assert best is not None
    return dict(zip(names, best[2], strict=True))


def _objective(predicted: np.ndarray, accepted: np.ndarray, objective: str) -> float:
    tp = int(np.sum(predicted & accepted))
    fp = int(np.sum(predicted & ~accepted))
    fn = int(np.sum(~predicted & accepted))
    tn = len(accepted) - tp - fp - fn
    if objective == "accuracy":
        return (tp + tn) / max(1, len(accepted))
    if objective == "f1":
        return 2 * tp / max(1, 2 * tp + fp + fn)
    recall = tp / (tp + fn) if tp + fn else 0.0
    specificity = tn / (tn + fp) if tn + fp else 0.0
    return (recall + specificity) / 2


def calibrate(
    items: Sequence[LabelledVerdict],
    current: dict[str, int],
    *,
    holdout: float = 0.5,
    objective: str = "balanced_accuracy",
    seed: int = 0,
) -> Calibration:
    """Fit thresholds on one part of ``items`` (stratified by decision) and report on the held-out part.

    Raises:
        ValueError: Fewer than 4 items, no accepted or no rejected item, or a bad ``holdout``.
    """
    if not 0 < holdout < 1:
        raise ValueError(f"--holdout must be between 0 and 1, got {holdout}")
    if len(items) < 4 or len({item.accepted for item in items}) < 2:
        raise ValueError("calibration needs at least 4 reviewed items, some accepted and some rejected")
    labels = ["accept" if item.accepted else "reject" for item in items]
    test_index = set(stratified_indices(labels, max(1, round(holdout * len(items))), seed))
    test = [item for index, item in enumerate(items) if index in test_index]
    fit = [item for index, item in enumerate(items) if index not in test_index]
    after = fit_thresholds(fit, current, objective)
    return Calibration(
        before=dict(current), after=after, objective=objective, fit_items=len(fit), test_items=len(test),
        fit_before=measure(fit, current), fit_after=measure(fit, after),
        test_before=measure(test, current), test_after=measure(test, after),
    )  # fmt: skip


def write_calibrated_pack(pack: StylePack, thresholds: dict[str, int], path: Path, note: str) -> StylePack:
    """Write a copy of the pack with the fitted thresholds (named ``<name>-calibrated``) and return it."""
    rubric = [c.model_copy(update={"threshold": thresholds.get(c.name, c.threshold)}) for c in pack.rubric]
    name = f"{pack.name}-calibrated"[:64]
    description = f"{pack.description} (thresholds calibrated: {note})"[:200]
    copy = pack.model_copy(update={"name": name, "aliases": [], "rubric": rubric, "description": description})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(copy.model_dump(mode="json"), allow_unicode=True, sort_keys=False), encoding="utf-8")
    return copy
