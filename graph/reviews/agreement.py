"""Reviewers against each other: agreement per criterion, disagreements, and each item's final decision.

Agreement is measured on the items that two reviewers (roles ``first`` and ``second``) both
decided: percent agreement, Cohen's kappa and, for the 1-5 scores, quadratic-weighted kappa
(scikit-learn's ``cohen_kappa_score``). Two identical rating lists count as kappa 1 (scikit-learn
returns nan there, because chance agreement is then 1 too). An item is a disagreement when the
two decisions differ or a criterion's scores are more than ``max_score_gap`` apart; a third
reviewer (role ``settle``) decides it, and their decision is final.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from sklearn.metrics import cohen_kappa_score

from graph.reviews.model import Assignment, Decision, ReviewDecision, Round

SCORES = [1, 2, 3, 4, 5]


@dataclass(frozen=True)
class Agreement:
    """Agreement of the paired reviewers on one criterion (or on the accept/reject ``decision``)."""

    name: str
    items: int
    percent: float | None
    kappa: float | None
    weighted_kappa: float | None = None


@dataclass(frozen=True)
class Disagreement:
    """An item the paired reviewers disagree on, and whether a third reviewer has settled it."""

    sample_id: str
    reviewers: tuple[str, ...]
    decisions: dict[str, Decision]
    criteria: list[str]
    settled_by: str | None = None


@dataclass(frozen=True)
class Final:
    """What an item's review comes to: ``decision`` None while the reviewers disagree unsettled."""

    sample_id: str
    decision: Decision | None
    source: str  # single | agreed | settled | unsettled
    edits: dict[int, str] = field(default_factory=dict)
    scores: dict[str, float] = field(default_factory=dict)
    reviewers: tuple[str, ...] = ()


def _kappa(
    first: Sequence[object], second: Sequence[object], labels: list[object], weights: str | None
) -> float | None:
    if not first:
        return None
    if list(first) == list(second):
        return 1.0
    value = float(cohen_kappa_score(list(first), list(second), labels=labels, weights=weights))
    return None if math.isnan(value) else value


def _by_item(decisions: list[ReviewDecision]) -> dict[str, dict[str, ReviewDecision]]:
    found: dict[str, dict[str, ReviewDecision]] = defaultdict(dict)
    for decision in decisions:
        found[decision.sample_id][decision.reviewer] = decision
    return found


def _roles(assignments: list[Assignment]) -> dict[str, dict[str, str]]:
    roles: dict[str, dict[str, str]] = defaultdict(dict)
    for assignment in assignments:
        roles[assignment.sample_id][assignment.role] = assignment.reviewer
    return roles


def pairs(
    decisions: list[ReviewDecision], assignments: list[Assignment]
) -> list[tuple[ReviewDecision, ReviewDecision]]:
    """Return the (first, second) decisions of every item both paired reviewers decided."""
    by_item, roles = _by_item(decisions), _roles(assignments)
    found = []
    for sample_id, role in roles.items():
        first, second = by_item[sample_id].get(role.get("first", "")), by_item[sample_id].get(role.get("second", ""))
        if first is not None and second is not None:
            found.append((first, second))
    return found


def agreement(round_: Round, decisions: list[ReviewDecision], assignments: list[Assignment]) -> list[Agreement]:
    """Return the agreement on the decision and on each rubric criterion."""
    paired = pairs(decisions, assignments)
    first = [a.decision for a, _ in paired]
    second = [b.decision for _, b in paired]
    found = [
        Agreement("decision", len(paired), _percent(first, second), _kappa(first, second, ["accept", "reject"], None))
    ]
    for criterion in round_.criteria:
        both = [
            (a.scores[criterion.name], b.scores[criterion.name])
            for a, b in paired
            if criterion.name in a.scores and criterion.name in b.scores
        ]
        x, y = [p for p, _ in both], [q for _, q in both]
        found.append(
            Agreement(
                criterion.name,
                len(both),
                _percent(x, y),
                _kappa(x, y, list(SCORES), None),
                _kappa(x, y, list(SCORES), "quadratic"),
            )
        )
    return found


def _percent(first: Sequence[object], second: Sequence[object]) -> float | None:
    return sum(a == b for a, b in zip(first, second, strict=True)) / len(first) if first else None


def disagreements(
    round_: Round, decisions: list[ReviewDecision], assignments: list[Assignment], max_score_gap: int = 1
) -> list[Disagreement]:
    """Return the items the paired reviewers disagree on (decision, or a score gap above ``max_score_gap``)."""
    roles, by_item = _roles(assignments), _by_item(decisions)
    found = []
    for first, second in pairs(decisions, assignments):
        criteria = [
            c.name
            for c in round_.criteria
            if c.name in first.scores
            and c.name in second.scores
            and abs(first.scores[c.name] - second.scores[c.name]) > max_score_gap
        ]
        if first.decision == second.decision and not criteria:
            continue
        settler = roles[first.sample_id].get("settle")
        settled = settler if settler and settler in by_item[first.sample_id] else None
        found.append(
            Disagreement(
                first.sample_id,
                (first.reviewer, second.reviewer),
                {first.reviewer: first.decision, second.reviewer: second.decision},
                criteria,
                settled,
            )
        )
    return found


def finals(decisions: list[ReviewDecision], assignments: list[Assignment]) -> dict[str, Final]:
    """Return the final decision of every decided item (the settler's, else the reviewers' if they agree)."""
    roles = _roles(assignments)
    found: dict[str, Final] = {}
    for sample_id, by_reviewer in _by_item(decisions).items():
        role = roles.get(sample_id, {})
        settler = by_reviewer.get(role.get("settle", ""))
        ordered = [by_reviewer[name] for name in (role.get("first"), role.get("second")) if name in by_reviewer]
        scores = _mean_scores([settler] if settler else ordered)
        if settler is not None:
            found[sample_id] = Final(sample_id, settler.decision, "settled", settler.edits, scores, (settler.reviewer,))
            continue
        if not ordered:
            continue
        names = tuple(d.reviewer for d in ordered)
        if len({d.decision for d in ordered}) > 1:
            found[sample_id] = Final(sample_id, None, "unsettled", {}, scores, names)
            continue
        edits = next((d.edits for d in ordered if d.edits), {})
        source = "agreed" if len(ordered) > 1 else "single"
        found[sample_id] = Final(sample_id, ordered[0].decision, source, edits, scores, names)
    return found


def _mean_scores(decisions: list[ReviewDecision]) -> dict[str, float]:
    sums: dict[str, list[int]] = defaultdict(list)
    for decision in decisions:
        for name, score in decision.scores.items():
            sums[name].append(score)
    return {name: sum(values) / len(values) for name, values in sums.items()}
