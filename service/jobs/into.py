"""``into``: a job's accepted samples become a new version of a data set (graph.datasets.store).

The version is written once the job has ended (completed, incomplete, cancelled: marked
``partial`` when fewer than the target were accepted), streamed from the job store page by page.
A kind whose run offers a :class:`VersionPlan` (``augment``) says itself when the version is
partial (cancelled or stopped by a budget; rejections are normal there), which rows come first
(the parents) and what was dropped.
It carries the key ``job:<id>``, so a job resumed after its version was written but before its
end was stored finds that version instead of writing a second one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from agents.schemas import Sample
from graph.datasets.manifest import Manifest
from graph.datasets.store import DatasetStore
from service.jobs.models import JobRecord
from service.jobs.store import JobStore

logger = logging.getLogger(__name__)


@dataclass
class VersionPlan:
    """How a kind wants its version written, when it is not generation's way.

    Attributes:
        partial: Mark the version partial (the job was cancelled or stopped before its end).
        leading: Rows written before the job's accepted samples (augmentation's parents), page by page.
        dropped: What the job left out, by reason (the manifest's ``dropped``).
    """

    partial: bool
    leading: Callable[[], Iterable[list[Sample]]] | None = None
    dropped: dict[str, int] = field(default_factory=dict)


def version_key(job_id: str) -> str:
    """Return the idempotency key of a job's version."""
    return f"job:{job_id}"


def write_version(
    store: JobStore, record: JobRecord, accepted: int, target: int, plan: VersionPlan | None = None
) -> Manifest | None:
    """Write the job's accepted samples as a new version of ``record.request.into``; return it (None: nothing accepted).

    Raises:
        graph.datasets.errors.DatasetError: The version cannot be written (e.g. an unknown parent).
        StorageFullError / OSError: The disk is full (the job is then resumed and writes it later).
    """
    request = record.request
    assert request.into is not None
    datasets = DatasetStore(store.path.parent)
    key = version_key(record.id)
    existing = datasets.find_key(request.into, key)
    if existing is not None:
        return existing
    if accepted == 0:
        return None
    params = request.model_dump(mode="json", exclude={"into"})
    with datasets.new_version(
        request.into,
        operation=request.kind,
        params={**params, "job_id": record.id},
        parents=request.parents(),
        partial=plan.partial if plan is not None else accepted < target,
        key=key,
    ) as writer:
        for page in plan.leading() if plan is not None and plan.leading is not None else ():
            writer.add(page)
        for reason, count in plan.dropped.items() if plan is not None else ():
            writer.drop(reason, count)
        for page in store.iter_sample_pages(record.id, "accepted"):
            writer.add(page)
    logger.info("job %s: wrote %s (%d samples)", record.id, writer.manifest.ref, writer.manifest.rows)
    return writer.manifest
