"""``into``: a job's accepted samples become a new version of a data set (graph.datasets.store).

The version is written once the job has ended (completed, incomplete, cancelled: marked
``partial`` when fewer than the target were accepted), streamed from the job store page by page.
It carries the key ``job:<id>``, so a job resumed after its version was written but before its
end was stored finds that version instead of writing a second one.
"""

from __future__ import annotations

import logging

from graph.datasets.manifest import Manifest
from graph.datasets.store import DatasetStore
from service.jobs.models import JobRecord
from service.jobs.store import JobStore

logger = logging.getLogger(__name__)


def version_key(job_id: str) -> str:
    """Return the idempotency key of a job's version."""
    return f"job:{job_id}"


def write_version(store: JobStore, record: JobRecord, accepted: int, target: int) -> Manifest | None:
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
        partial=accepted < target,
        key=key,
    ) as writer:
        for page in store.iter_sample_pages(record.id, "accepted"):
            writer.add(page)
    logger.info("job %s: wrote %s (%d samples)", record.id, writer.manifest.ref, writer.manifest.rows)
    return writer.manifest
