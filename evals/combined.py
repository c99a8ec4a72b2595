"""A combined judge: the LLM's score and the rule baseline's, weighted by a fit on the dev set.

The weights (an ordinary least-squares fit of the human label on the two scores, scikit-learn's
``LinearRegression``) are fitted by cross-fitting: the items are split into ``folds`` stratified
folds, and each fold's scores come from weights fitted on the other folds only. So every
combined score reported is for an item the fit did not see, and the row is comparable with the
others on the same items. It costs no call: both inputs are the cached judgements.
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LinearRegression
from sklearn.model_selection import StratifiedKFold

from evals.datasets import LabelledSet
from evals.judges import JUDGE_HIGH, JUDGE_LOW, Judgement

FOLDS = 2


def combined_label(llm_label: str, baseline_label: str) -> str:
    """Return the leaderboard name of a combination, e.g. ``anchored+rules @ qwen``."""
    name, _, model = llm_label.partition(" @ ")
    return f"{name}+rules(x-fit) @ {model}"


def cross_fitted(
    dataset: LabelledSet,
    llm: dict[str, Judgement],
    baseline: dict[str, Judgement],
    *,
    folds: int = FOLDS,
    seed: int = 0,
) -> dict[str, Judgement]:
    """Return held-out combined scores (on the judge's 1-5 scale) for the items both judges scored.

    Returns an empty dict when there are too few items to fit and hold out.
    """
    items = [
        item
        for item in dataset.items
        if llm.get(item.key) and baseline.get(item.key)
        and llm[item.key].score is not None and baseline[item.key].score is not None
    ]  # fmt: skip
    labels = np.array([item.label for item in items], dtype=float)
    if len(items) < 4 * folds or min(np.unique(labels, return_counts=True)[1]) < folds:
        return {}
    features = np.array([[llm[i.key].score, baseline[i.key].score] for i in items], dtype=float)
    predicted = np.empty(len(items))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train, test in splitter.split(features, labels.astype(int)):
        model = LinearRegression().fit(features[train], labels[train])
        predicted[test] = model.predict(features[test])
    span = dataset.scale.high - dataset.scale.low
    on_judge_scale = JUDGE_LOW + (JUDGE_HIGH - JUDGE_LOW) * (predicted - dataset.scale.low) / span
    clipped = np.clip(on_judge_scale, JUDGE_LOW, JUDGE_HIGH)
    return {item.key: Judgement(score=float(value)) for item, value in zip(items, clipped, strict=True)}
