"""Export a stored version in a training format, streaming batch by batch (bounded memory).

The records come from ``graph.datasets.export`` (the one renderer of Alpaca, ShareGPT, OpenAI
and raw records). Training formats hold the version's accepted samples; ``raw`` holds every row.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from graph.datasets.errors import ExportRowError
from graph.datasets.export import EXPORT_FORMATS, ExportError, ExportFormat, atomic_write, iter_jsonl_lines
from graph.datasets.store import DatasetStore, RefLike

EXPORT_BATCH = 2_000


def check_format(fmt: str) -> ExportFormat:
    """Return ``fmt`` if it is an export format.

    Raises:
        ExportRowError: It is not one; the message lists the formats.
    """
    if fmt not in EXPORT_FORMATS:
        raise ExportRowError(f"unknown export format {fmt!r}; choose one of {', '.join(EXPORT_FORMATS)}")
    return fmt


def iter_version_lines(store: DatasetStore, ref: RefLike, fmt: ExportFormat) -> Iterator[str]:
    """Yield a version's samples as JSON lines (accepted ones only, unless ``fmt`` is ``raw``).

    Raises:
        DatasetError: The version does not exist.
        ExportRowError: A sample cannot be written in this format (names the sample).
    """
    manifest = store.resolve(ref)
    for samples in store.iter_samples(manifest, EXPORT_BATCH):
        chosen = samples if fmt == "raw" else [sample for sample in samples if sample.status == "accepted"]
        try:
            yield from iter_jsonl_lines(chosen, fmt)
        except ExportError as error:
            raise ExportRowError(f"{manifest.ref}: {error}") from None


def export_version(store: DatasetStore, ref: RefLike, fmt: ExportFormat, path: Path) -> int:
    """Write a version to ``path`` as JSON Lines, atomically; return the number of records.

    Raises:
        DatasetError: The version does not exist, a sample cannot be exported, or the path
            cannot be written (the file is then left as it was).
    """
    try:
        return atomic_write(Path(path), iter_version_lines(store, ref, fmt))
    except ExportError as error:
        raise ExportRowError(str(error)) from None
