"""Where a review round stands, against seed 001's targets.

Seed 001 asks for two annotators per item with a review when they disagree on more than 10%
(分歧率>10% 时启动评审), annotation accuracy ≥ 95% (正确标注数 / 总标注数) and consistency ≥ 90%
(多标注者一致数 / 总标注数). Here, on the items two reviewers decided:

- *disagreement rate*: the share of those items that are disagreements (``agreement.disagreements``);
- *consistency*: the share where both made the same accept/reject decision;
- *accuracy* of a reviewer: the share of their decisions equal to the item's final decision
  (agreed, or settled by a third reviewer); the figure shown is the lowest reviewer's. Until the
  disagreements are settled it cannot be known, and says so.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

from graph.reviews.agreement import Agreement, Disagreement, Final, agreement, disagreements, finals, pairs
from graph.reviews.model import Assignment, ReviewDecision, Round
from graph.reviews.store import ReviewStore

MAX_DISAGREEMENT = 0.10
MIN_CONSISTENCY = 0.90
MIN_ACCURACY = 0.95


@dataclass(frozen=True)
class Target:
    """One of seed 001's targets: the value, the goal, and whether it is met (None: not measurable yet)."""

    name: str
    value: float | None
    goal: str
    met: bool | None
    note: str = ""


@dataclass
class ReviewStatus:
    """Progress, agreement, disagreements and targets of one round."""

    round: Round
    progress: dict[str, tuple[int, int]] = field(default_factory=dict)  # reviewer -> (decided, assigned)
    paired: int = 0
    agreement: list[Agreement] = field(default_factory=list)
    disagreements: list[Disagreement] = field(default_factory=list)
    finals: dict[str, Final] = field(default_factory=dict)
    targets: list[Target] = field(default_factory=list)
    accuracy: dict[str, float] = field(default_factory=dict)

    @property
    def outcome(self) -> Counter[str]:
        """Final decisions by kind: accept, reject, unsettled, edited."""
        counts: Counter[str] = Counter(final.decision or "unsettled" for final in self.finals.values())
        counts["edited"] = sum(1 for f in self.finals.values() if f.decision == "accept" and f.edits)
        return counts


def _accuracy(
    finals_: dict[str, Final], decisions: list[ReviewDecision], assignments: list[Assignment]
) -> dict[str, float]:
    hits: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    for first, second in pairs(decisions, assignments):
        final = finals_.get(first.sample_id)
        if final is None or final.decision is None:
            continue
        for decision in (first, second):
            totals[decision.reviewer] += 1
            hits[decision.reviewer] += decision.decision == final.decision
    return {name: hits[name] / totals[name] for name in totals}


def review_status(store: ReviewStore, ref: str, max_score_gap: int = 1) -> ReviewStatus:
    """Compute the status of a round (raises ``ReviewNotFoundError`` without one)."""
    round_ = store.round(ref)
    decisions, assignments = store.decisions(ref), store.assignments(ref)
    status = ReviewStatus(round_)
    decided = {(d.sample_id, d.reviewer) for d in decisions}
    progress: dict[str, list[int]] = {}
    for assignment in assignments:
        entry = progress.setdefault(assignment.reviewer, [0, 0])
        entry[1] += 1
        entry[0] += (assignment.sample_id, assignment.reviewer) in decided
    status.progress = {name: (done, total) for name, (done, total) in progress.items()}
    status.paired = len(pairs(decisions, assignments))
    status.agreement = agreement(round_, decisions, assignments)
    status.disagreements = disagreements(round_, decisions, assignments, max_score_gap)
    status.finals = finals(decisions, assignments)
    status.accuracy = _accuracy(status.finals, decisions, assignments)
    status.targets = _targets(status)
    return status


def _targets(status: ReviewStatus) -> list[Target]:
    if status.paired == 0:
        none = "no item has been decided by two reviewers yet (assign with --overlap)"
        return [
            Target("disagreement rate", None, f"≤ {MAX_DISAGREEMENT:.0%}", None, none),
            Target("consistency", None, f"≥ {MIN_CONSISTENCY:.0%}", None, none),
            Target("accuracy", None, f"≥ {MIN_ACCURACY:.0%}", None, none),
        ]
    rate = len(status.disagreements) / status.paired
    unsettled = sum(1 for d in status.disagreements if d.settled_by is None)
    consistency = status.agreement[0].percent
    lowest = min(status.accuracy.values()) if status.accuracy else None
    accuracy_note = f"{unsettled} disagreements to settle first" if unsettled else ""
    return [
        Target(
            "disagreement rate",
            rate,
            f"≤ {MAX_DISAGREEMENT:.0%}",
            rate <= MAX_DISAGREEMENT,
            "" if rate <= MAX_DISAGREEMENT else "above 10%: settle the disagreements and re-brief the reviewers",
        ),
        Target(
            "consistency",
            consistency,
            f"≥ {MIN_CONSISTENCY:.0%}",
            None if consistency is None else consistency >= MIN_CONSISTENCY,
        ),
        Target(
            "accuracy",
            lowest,
            f"≥ {MIN_ACCURACY:.0%}",
            None if unsettled or lowest is None else lowest >= MIN_ACCURACY,
            accuracy_note,
        ),
    ]


def status_dict(status: ReviewStatus) -> dict[str, Any]:
    """Return the status as plain JSON values (``review status --json`` and ``GET /v1/reviews/{ref}``)."""
    return {
        "ref": status.round.ref,
        "reviewers": {name: {"decided": done, "assigned": total} for name, (done, total) in status.progress.items()},
        "paired_items": status.paired,
        "agreement": [asdict(item) for item in status.agreement],
        "disagreements": [asdict(item) for item in status.disagreements],
        "targets": [asdict(target) for target in status.targets],
        "accuracy": status.accuracy,
        "outcome": dict(status.outcome),
    }
