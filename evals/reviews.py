"""Reviewer decisions as labelled sets for the judge harness (``dialogforge eval judges --reviews REF``).

Each decided item of a review round (``graph.reviews``) becomes a :class:`~evals.datasets.LabelledItem`:
the text is the dialogue's last assistant turn and the context the turns before it, as the
harness's judges read them. The label is either a rubric criterion's reviewer score (1-5: the
median of the reviewers, the settler's when a third reviewer settled the item) or the decision
(``accept`` 1, ``reject`` 0, on a 0-1 scale). Items still in dispute are left out. Items two
reviewers scored also form a second set with both ratings as annotators, so the leaderboard
shows the human ceiling (reviewer against reviewer) beside the judges.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from pathlib import Path

from agents.schemas import Sample
from evals.calibrate import LabelledVerdict
from evals.datasets import DatasetError, LabelledItem, LabelledSet, Scale
from graph.reviews.agreement import finals, pairs
from graph.reviews.store import ReviewStore

DECISION = "decision"


def text_and_context(sample: Sample) -> tuple[str, str]:
    """Return the last assistant turn and the turns before it (one ``role: text`` line each when many)."""
    last = max((i for i, turn in enumerate(sample.turns) if turn.role == "assistant"), default=None)
    if last is None:
        return "", ""
    before = sample.turns[:last]
    if len(before) == 1:
        return sample.turns[last].content, before[0].content
    return sample.turns[last].content, "\n".join(f"{turn.role}: {turn.content}" for turn in before)


def review_sets(store: ReviewStore, ref: str, label: str = DECISION) -> list[LabelledSet]:
    """Return the round's labelled set for ``label`` (a criterion or ``decision``), and its paired set.

    Raises:
        ReviewNotFoundError: The version has no review round.
        DatasetError: ``label`` is not a criterion of the round, or nothing is decided yet.
    """
    round_ = store.round(ref)
    names = [c.name for c in round_.criteria]
    if label != DECISION and label not in names:
        raise DatasetError(f"{ref} was reviewed on {', '.join(names)}; choose one of them or 'decision'")
    decisions, assignments = store.decisions(ref), store.assignments(ref)
    samples, final = store.samples(ref), finals(decisions, assignments)
    ratings: dict[str, list[float]] = defaultdict(list)
    for decision in decisions:
        item = final.get(decision.sample_id)
        if item is None or item.decision is None:
            continue
        if item.source == "settled" and decision.reviewer not in item.reviewers:
            continue  # the settler's rating replaces the two that disagreed
        value = _value(decision.decision, decision.scores, label)
        if value is not None:
            ratings[decision.sample_id].append(value)
    scale = Scale(0, 1) if label == DECISION else Scale(1, 5)
    items = []
    for row, (sample_id, values) in enumerate(sorted(ratings.items()), start=1):
        text, context = text_and_context(samples[sample_id])
        if text:
            items.append(LabelledItem(row, text, context, float(statistics.median(values))))
    if not items:
        raise DatasetError(f"no decided item of {ref} has a {label} label yet")
    found = [LabelledSet(f"{ref} reviews ({label})", scale, items)]
    paired: list[LabelledItem] = []
    for first, second in pairs(decisions, assignments):
        a, b = _value(first.decision, first.scores, label), _value(second.decision, second.scores, label)
        text, context = text_and_context(samples[first.sample_id])
        if a is not None and b is not None and text:
            paired.append(LabelledItem(len(paired) + 1, text, context, (a + b) / 2, (a, b)))
    if len(paired) >= 3:
        found.append(LabelledSet(f"{ref} paired ({label})", scale, paired, ["first reviewer", "second reviewer"]))
    return found


def _value(decision: str, scores: dict[str, int], label: str) -> float | None:
    if label == DECISION:
        return 1.0 if decision == "accept" else 0.0
    score = scores.get(label)
    return float(score) if score is not None else None


def reviewed_verdicts(store: ReviewStore, ref: str) -> tuple[list[LabelledVerdict], dict[str, int]]:
    """Return the settled items that carry a judge verdict, and how many verdicts each judge prompt gave.

    The scores are the verdict stored on the row (the judge prompt in force when it was made);
    the label is the reviewers' final decision.
    """
    decided = finals(store.decisions(ref), store.assignments(ref))
    samples = store.samples(ref)
    items, prompts = [], Counter[str]()
    for sample_id, final in sorted(decided.items()):
        verdict = samples[sample_id].verdict if sample_id in samples else None
        if final.decision is None or verdict is None or not verdict.scores:
            continue
        items.append(LabelledVerdict(sample_id, dict(verdict.scores), final.decision == "accept"))
        prompts[verdict.prompt_name or "(unnamed)"] += 1
    return items, dict(prompts)


def reviewed_sets(
    data_dir: Path, ref: str, label: str, criterion: str, description: str | None
) -> tuple[list[LabelledSet], str, str | None]:
    """Return the labelled sets of a reviewed version, the criterion to judge and its description.

    With a rubric criterion as ``label`` the judges score that criterion; with ``decision`` they
    score ``criterion``. A criterion of the round's rubric brings its description from the pack.

    Raises:
        DatasetError: The version or its round does not exist, or nothing is labelled yet.
    """
    from graph.datasets.errors import DatasetError as StoreError
    from graph.datasets.store import DatasetStore
    from graph.reviews.errors import ReviewError

    try:
        canonical = DatasetStore(data_dir).resolve(ref).ref
        store = ReviewStore(data_dir)
        sets = review_sets(store, canonical, label)
        rubric = {c.name: c.description for c in store.round(canonical).criteria}
    except (StoreError, ReviewError) as error:
        raise DatasetError(str(error)) from None
    judged = label if label != DECISION else criterion
    return sets, judged, description or rubric.get(judged)
