"""Turn a round's decisions into a new version: rejected rows removed, edited rows changed, the rest kept.

The version is written through the data-set store's atomic writer (``operation="review"``, parent
the reviewed version), so the reviewed version itself is never changed. An edited row keeps its
id (diff shows it as changed) and gets ``origin="edited"``, ``operator="review"``, the reviewers
and edited turns in ``params``, and its parent id and version. Rows nobody reviewed are kept as
they are (a review is an audit of a sample). Items the reviewers disagree on and nobody settled
stop the apply unless ``unsettled`` says to keep or drop them.
"""

from __future__ import annotations

from typing import Literal

import pyarrow as pa
import pyarrow.compute as pc

from agents.schemas import Sample, Turn
from graph.datasets.manifest import Manifest
from graph.datasets.rows import batch_samples
from graph.datasets.store import DatasetStore
from graph.reviews.agreement import Final, finals
from graph.reviews.errors import ReviewConflictError
from graph.reviews.store import ReviewStore

Unsettled = Literal["fail", "keep", "drop"]


def edited_sample(sample: Sample, final: Final, ref: str) -> Sample:
    """Return the sample with the reviewers' edits applied and its lineage saying so."""
    turns = [
        Turn(role=turn.role, content=final.edits.get(index, turn.content)) for index, turn in enumerate(sample.turns)
    ]
    params = {"round": ref, "reviewers": list(final.reviewers), "turns": sorted(final.edits), "source": final.source}
    lineage = sample.lineage.model_copy(
        update={
            "origin": "edited",
            "operator": "review",
            "params": params,
            "parent_id": sample.id,
            "parent_version": ref,
        }
    )
    return sample.model_copy(update={"turns": turns, "lineage": lineage})


def apply_review(
    datasets: DatasetStore,
    reviews: ReviewStore,
    ref: str,
    into: str,
    *,
    unsettled: Unsettled = "fail",
    tag: str | None = None,
) -> Manifest:
    """Write the reviewed version of ``ref`` as a new version of ``into`` and return its manifest.

    Raises:
        ReviewNotFoundError: ``ref`` has no review round.
        ReviewConflictError: Some disagreements are unsettled and ``unsettled`` is ``fail``.
        DatasetError: The data set name or tag is invalid or taken.
    """
    manifest = datasets.resolve(ref)
    reviews.round(manifest.ref)
    decided = finals(reviews.decisions(manifest.ref), reviews.assignments(manifest.ref))
    open_items = sorted(sid for sid, final in decided.items() if final.decision is None)
    if open_items and unsettled == "fail":
        raise ReviewConflictError(
            f"{len(open_items)} items have disagreeing decisions nobody settled (e.g. {open_items[0]!r}); "
            f"settle them (dialogforge review settle {manifest.ref} --reviewer NAME) or pass --unsettled keep|drop"
        )
    removed = {sid for sid, final in decided.items() if final.decision == "reject"}
    if unsettled == "drop":
        removed |= set(open_items)
    edits = {sid: final for sid, final in decided.items() if final.decision == "accept" and final.edits}
    params = {
        "round": manifest.ref,
        "rejected": len(removed),
        "edited": len(edits),
        "reviewed": len(decided),
        "unsettled": len(open_items),
        "unsettled_policy": unsettled,
    }
    removed_array, edited_array = pa.array(sorted(removed), pa.string()), pa.array(sorted(edits), pa.string())
    with datasets.new_version(into, operation="review", params=params, parents=[manifest], tag=tag) as writer:
        for batch in datasets.iter_batches(manifest):
            kept = batch.filter(pc.invert(pc.is_in(batch.column("id"), value_set=removed_array)))
            if not pc.any(pc.is_in(kept.column("id"), value_set=edited_array)).as_py():
                writer.add_batch(kept)
                continue
            samples = batch_samples(kept)
            writer.add([edited_sample(s, edits[s.id], manifest.ref) if s.id in edits else s for s in samples])
        if removed:
            writer.drop("review_rejected", len(removed))
    return writer.manifest
