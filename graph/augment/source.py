"""Augmentation's work source: the rows of a data set version, and the children each row still owes.

The rows are read from the data-set store page by page (never the whole version in memory). A
child is keyed by its parent row, its operator and its variant number (``0 .. per_sample - 1``);
a resumed job passes every child its earlier runs finished (accepted or rejected, as stored in the
job store) to :meth:`RowSource.restore`, so no child is made twice and each new one still sees
its accepted siblings.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator, Sequence

from agents.schemas import Sample
from graph.datasets.store import DatasetStore

PAGE_ROWS = 500


def child_key(sample: Sample) -> tuple[str, str, int] | None:
    """Return a stored child's (parent id, operator, variant), or None if it is not an augmented child."""
    lineage = sample.lineage
    variant = lineage.params.get("variant")
    if lineage.parent_id is None or lineage.operator is None or not isinstance(variant, int):
        return None
    return lineage.parent_id, lineage.operator, variant


class RowSource:
    """The parents of one augmentation job, page by page, with the children already finished."""

    def __init__(self, read: Callable[[], Iterator[list[Sample]]], *, max_parents: int | None = None) -> None:
        """Serve the rows ``read()`` yields page by page (at most ``max_parents`` of them)."""
        self.read, self.max_parents = read, max_parents
        self.finished: set[tuple[str, str, int]] = set()
        self.accepted: dict[tuple[str, str], list[Sample]] = {}

    @classmethod
    def of_version(
        cls, store: DatasetStore, ref: str, *, max_parents: int | None = None, page_rows: int = PAGE_ROWS
    ) -> RowSource:
        """Serve the rows of the stored version ``ref``."""
        return cls(lambda: iter(store.iter_samples(ref, batch_size=page_rows)), max_parents=max_parents)

    def restore(self, finished: Sequence[Sample]) -> None:
        """Take in the children earlier runs of this job finished: they are not made again."""
        for sample in finished:
            key = child_key(sample)
            if key is None:
                continue
            self.finished.add(key)
            if sample.status == "accepted":
                self.accepted.setdefault(key[:2], []).append(sample)

    def done(self, parent_id: str, operator: str, variant: int) -> bool:
        """Return whether this child was finished by an earlier run."""
        return (parent_id, operator, variant) in self.finished

    def siblings(self, parent_id: str, operator: str) -> list[Sample]:
        """Return the children of this parent and operator that earlier runs accepted."""
        return list(self.accepted.get((parent_id, operator), []))

    def read_pages(self) -> Iterator[list[Sample]]:
        """Yield the rows page by page, at most ``max_parents`` of them."""
        left = self.max_parents
        for page in self.read():
            if left is not None:
                page, left = page[:left], left - min(left, len(page))
            if not page:
                return
            yield page

    async def pages(self) -> AsyncIterator[list[Sample]]:
        """Yield the rows page by page, each page read in a worker thread."""
        rows = self.read_pages()
        while (page := await asyncio.to_thread(next, rows, None)) is not None:
            yield page
