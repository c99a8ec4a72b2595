"""The review layer on a real store and SQLite: stratified assignment, durable decisions, agreement, apply."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from agents.schemas import Lineage, Sample, Turn
from agents.styles import resolve_style
from graph.datasets.store import DatasetStore
from graph.reviews.agreement import agreement, disagreements, finals
from graph.reviews.apply import apply_review
from graph.reviews.assign import allocate
from graph.reviews.errors import InvalidDecisionError, NotAssignedError, ReviewConflictError
from graph.reviews.model import ReviewDecision, check_decision
from graph.reviews.rounds import settle, start_round
from graph.reviews.status import review_status
from graph.reviews.store import ReviewStore

CRITERIA = resolve_style("bank-cs").rubric


def _rows(count: int) -> list[Sample]:
    rows = []
    for index in range(count):
        style = "bank-cs" if index % 5 else "gentle"  # 80% / 20%
        turns = [Turn(role="user", content=f"问题 {index}"), Turn(role="assistant", content=f"回答 {index}")]
        rows.append(
            Sample(id=f"s{index:03d}", status="accepted", system="客服", turns=turns, lineage=Lineage(style=style))
        )
    return rows


@pytest.fixture
def stores(tmp_path: Path) -> tuple[DatasetStore, ReviewStore]:
    datasets = DatasetStore(tmp_path)
    with datasets.new_version("bank", operation="import") as writer:
        writer.add(_rows(100))
    return datasets, ReviewStore(tmp_path)


def _round(stores: tuple[DatasetStore, ReviewStore], **options: object) -> str:
    datasets, reviews = stores
    settings: dict[str, object] = {"fraction": 0.2, "reviewers": ["alice", "bob"], "overlap": 0.5}
    settings.update(options)
    round_ = start_round(datasets, reviews, "bank", criteria=CRITERIA, strata=("origin", "style", "band"), **settings)  # type: ignore[arg-type]
    return round_.ref


def _decide(
    reviews: ReviewStore, ref: str, sample_id: str, reviewer: str, decision: str = "accept", **rest: object
) -> None:
    reviews.save(ReviewDecision(ref=ref, sample_id=sample_id, reviewer=reviewer, decision=decision, **rest))  # type: ignore[arg-type]


def test_allocation_is_proportional_with_largest_remainders() -> None:
    assert allocate({("a",): 80, ("b",): 20}, 20) == {("a",): 16, ("b",): 4}
    assert allocate({("a",): 1, ("b",): 1, ("c",): 1}, 2) == {("a",): 1, ("b",): 1, ("c",): 0}


def test_assignment_is_stratified_overlapped_and_balanced(stores: tuple[DatasetStore, ReviewStore]) -> None:
    ref = _round(stores)
    _, reviews = stores
    samples = reviews.samples(ref)
    assert len(samples) == 20
    assert Counter(s.lineage.style for s in samples.values()) == {"bank-cs": 16, "gentle": 4}
    assignments = reviews.assignments(ref)
    per_item = Counter(a.sample_id for a in assignments)
    assert Counter(per_item.values()) == {2: 10, 1: 10}
    load = Counter(a.reviewer for a in assignments)
    assert load == {"alice": 15, "bob": 15}
    first_five = [a.sample_id for a, _ in reviews.queue(ref, "alice")][:5]
    assert any(samples[s].lineage.style == "gentle" for s in first_five)  # strata interleaved in the queue
    with pytest.raises(ReviewConflictError):
        _round(stores)


def test_decisions_are_per_reviewer_and_never_overwritten(stores: tuple[DatasetStore, ReviewStore]) -> None:
    ref = _round(stores)
    _, reviews = stores
    shared = next(sid for sid, n in Counter(a.sample_id for a in reviews.assignments(ref)).items() if n == 2)
    _decide(reviews, ref, shared, "alice", scores={"empathy": 5})
    _decide(reviews, ref, shared, "bob", "reject", reason="incorrect")
    assert reviews.decision(ref, shared, "alice").decision == "accept"  # type: ignore[union-attr]
    assert reviews.decision(ref, shared, "bob").decision == "reject"  # type: ignore[union-attr]
    stale = ReviewDecision(ref=ref, sample_id=shared, reviewer="alice", decision="reject", reason="pii")
    with pytest.raises(ReviewConflictError):
        reviews.save(stale, expected_revision=0)  # another tab saved revision 1 meanwhile
    assert reviews.save(stale, expected_revision=1).revision == 2
    assert reviews.log_size(ref) == 3
    alone = next(a.sample_id for a in reviews.assignments(ref) if a.reviewer == "bob")
    if alone not in {a.sample_id for a in reviews.assignments(ref) if a.reviewer == "alice"}:
        with pytest.raises(NotAssignedError):
            _decide(reviews, ref, alone, "alice")
    with pytest.raises(NotAssignedError):
        reviews.item(ref, shared, "mallory")


def test_check_decision_names_what_is_wrong() -> None:
    base = ReviewDecision(ref="x@1", sample_id="s", reviewer="a", decision="reject")
    for decision, expected in [
        (base, "needs a reason"),
        (base.model_copy(update={"reason": "pii", "scores": {"nope": 3}}), "unknown criterion 'nope'"),
        (base.model_copy(update={"reason": "pii", "scores": {"empathy": 9}}), "must be 1-5"),
        (base.model_copy(update={"reason": "pii", "edits": {7: "x"}}), "turn 7 does not exist"),
        (base.model_copy(update={"reason": "pii", "edits": {0: "  "}}), "would be empty"),
    ]:
        with pytest.raises(InvalidDecisionError, match=expected):
            check_decision(decision, CRITERIA, turns=2)


def test_agreement_kappa_on_known_numbers(stores: tuple[DatasetStore, ReviewStore]) -> None:
    ref = _round(stores, overlap=0.5)
    _, reviews = stores
    shared = sorted(sid for sid, n in Counter(a.sample_id for a in reviews.assignments(ref)).items() if n == 2)
    assert len(shared) == 10
    alice = ["accept"] * 5 + ["reject"] * 5
    bob = ["accept"] * 4 + ["reject"] * 5 + ["accept"]
    for index, sid in enumerate(shared):
        reason = {"reason": "incorrect"}
        _decide(
            reviews,
            ref,
            sid,
            "alice",
            alice[index],
            scores={"empathy": 4},
            **(reason if alice[index] == "reject" else {}),
        )
        _decide(
            reviews, ref, sid, "bob", bob[index], scores={"empathy": 4}, **(reason if bob[index] == "reject" else {})
        )
    round_ = reviews.round(ref)
    found = {a.name: a for a in agreement(round_, reviews.decisions(ref), reviews.assignments(ref))}
    assert found["decision"].items == 10 and found["decision"].percent == pytest.approx(0.8)
    assert found["decision"].kappa == pytest.approx(0.6)  # po 0.8, pe 0.5
    assert found["empathy"].percent == 1.0 and found["empathy"].weighted_kappa == 1.0
    open_items = disagreements(round_, reviews.decisions(ref), reviews.assignments(ref))
    assert sorted(d.sample_id for d in open_items) == [shared[4], shared[9]]
    status = review_status(reviews, ref)
    targets = {t.name: t for t in status.targets}
    assert targets["disagreement rate"].value == pytest.approx(0.2) and targets["disagreement rate"].met is False
    assert targets["consistency"].met is False and targets["accuracy"].met is None  # needs settling first
    with pytest.raises(ReviewConflictError):
        settle(reviews, ref, "alice")
    added = settle(reviews, ref, "carol")
    assert len(added) == 2
    for sid in (shared[4], shared[9]):
        _decide(reviews, ref, sid, "carol", "accept")
    settled = review_status(reviews, ref)
    assert {t.name: t.met for t in settled.targets}["accuracy"] is False  # alice 0.9, bob 0.9 < 0.95
    assert settled.accuracy == {"alice": pytest.approx(0.9), "bob": pytest.approx(0.9)}


def test_apply_removes_rejections_and_applies_edits(stores: tuple[DatasetStore, ReviewStore]) -> None:
    ref = _round(stores, overlap=0.0)
    datasets, reviews = stores
    queue = [a.sample_id for a, _ in reviews.queue(ref, "alice")]
    _decide(reviews, ref, queue[0], "alice", "reject", reason="off_style")
    _decide(reviews, ref, queue[1], "alice", edits={1: "改过的回答"})
    manifest = apply_review(datasets, reviews, ref, "bank")
    assert manifest.ref == "bank@2" and manifest.rows == 99 and manifest.parents == ["bank@1"]
    assert manifest.dropped == {"review_rejected": 1}
    rows = {s.id: s for batch in datasets.iter_samples("bank@2") for s in batch}
    assert queue[0] not in rows
    edited = rows[queue[1]]
    assert edited.turns[1].content == "改过的回答" and edited.lineage.origin == "edited"
    assert edited.lineage.parent_version == "bank@1" and edited.lineage.params["reviewers"] == ["alice"]
    assert rows[queue[2]].lineage.origin == "generated"  # untouched rows are kept as they were
    assert sum(1 for batch in datasets.iter_samples("bank@1") for _ in batch) == 100  # the reviewed version is intact


def test_apply_refuses_unsettled_disagreements(stores: tuple[DatasetStore, ReviewStore]) -> None:
    ref = _round(stores, overlap=1.0)
    datasets, reviews = stores
    sid = reviews.assignments(ref)[0].sample_id
    _decide(reviews, ref, sid, "alice")
    _decide(reviews, ref, sid, "bob", "reject", reason="unsafe")
    assert finals(reviews.decisions(ref), reviews.assignments(ref))[sid].decision is None
    with pytest.raises(ReviewConflictError, match="nobody settled"):
        apply_review(datasets, reviews, ref, "bank")
    assert apply_review(datasets, reviews, ref, "bank", unsettled="drop").rows == 99
