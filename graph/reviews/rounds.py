"""Start a review round of a version, and hand its disagreements to a third reviewer."""

from __future__ import annotations

import math

from agents.embeddings import Embedder
from agents.styles import Criterion
from graph.datasets.store import DatasetStore
from graph.reviews.agreement import disagreements
from graph.reviews.assign import MAX_POOL, STRATA, candidates, deal, draw, fetch
from graph.reviews.errors import InvalidDecisionError, ReviewConflictError
from graph.reviews.model import Assignment, Round, check_reviewer
from graph.reviews.store import ReviewStore


def start_round(
    datasets: DatasetStore,
    reviews: ReviewStore,
    ref: str,
    *,
    fraction: float,
    reviewers: list[str],
    overlap: float,
    criteria: list[Criterion],
    style: str = "",
    embedder: Embedder | None = None,
    strata: tuple[str, ...] = STRATA,
    seed: int = 0,
) -> Round:
    """Draw a stratified ``fraction`` of a version into the reviewers' queues and store the round.

    Raises:
        InvalidDecisionError: A bad fraction, overlap, reviewer name or stratum.
        ReviewConflictError: The version already has a round.
        DatasetError: The version does not exist.
    """
    if not 0 < fraction <= 1:
        raise InvalidDecisionError(f"--fraction must be in (0, 1], got {fraction}")
    if not 0 <= overlap <= 1:
        raise InvalidDecisionError(f"--overlap must be in [0, 1], got {overlap}")
    names = [check_reviewer(name.strip()) for name in reviewers if name.strip()]
    if len(set(names)) != len(names):
        raise InvalidDecisionError("a reviewer is named twice in --reviewers")
    manifest = datasets.resolve(ref)
    if manifest.rows == 0:
        raise InvalidDecisionError(f"{manifest.ref} has no rows to review")
    count = max(1, math.ceil(fraction * manifest.rows))
    pool = candidates(datasets, manifest, strata, embedder, max_pool=max(MAX_POOL, count), seed=seed)
    drawn = draw(pool, count, seed)
    assignments = deal(manifest.ref, drawn, names, overlap, seed)
    samples = {sample.id: sample for sample in fetch(datasets, manifest, {c.sample_id for c in drawn})}
    items = [(samples[c.sample_id], "/".join(c.stratum)) for c in drawn]
    round_ = Round(
        ref=manifest.ref,
        style=style,
        criteria=criteria,
        fraction=fraction,
        overlap=overlap,
        reviewers=names,
        seed=seed,
        strata=list(strata),
        items=len(items),
    )
    reviews.create_round(round_, items, assignments)
    return round_


def settle(reviews: ReviewStore, ref: str, reviewer: str, max_score_gap: int = 1) -> list[Assignment]:
    """Queue the round's current disagreements for a third reviewer; return what was added.

    Raises:
        ReviewNotFoundError: The version has no round.
        ReviewConflictError: The reviewer is one of the two who disagree on an item.
    """
    check_reviewer(reviewer)
    round_ = reviews.round(ref)
    open_items = disagreements(round_, reviews.decisions(ref), reviews.assignments(ref), max_score_gap)
    added = []
    for position, item in enumerate(open_items):
        if reviewer in item.reviewers:
            raise ReviewConflictError(f"{reviewer} reviewed {item.sample_id!r} already; choose a third reviewer")
        added.append(Assignment(ref=ref, sample_id=item.sample_id, reviewer=reviewer, position=position, role="settle"))
    reviews.add_assignments(added)
    return added
