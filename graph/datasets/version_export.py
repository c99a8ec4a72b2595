"""Export a stored version in a training format, streaming batch by batch (bounded memory).

The records come from ``graph.datasets.export`` (the one renderer of Alpaca, ShareGPT, OpenAI
and raw records). Training formats hold the version's accepted samples; ``raw`` holds every row.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from graph.datasets.errors import ExportRowError
from graph.datasets.export import EXPORT_FORMATS, Exportable, ExportError, ExportFormat, atomic_write, iter_jsonl_lines
from graph.datasets.manifest import Manifest
from graph.datasets.store import DatasetStore, RefLike

EXPORT_BATCH = 5_000
_TRAINING_COLUMNS = ["id", "status", "system", "turns"]


def check_format(fmt: str) -> ExportFormat:
    """Return ``fmt`` if it is an export format.

    Raises:
        ExportRowError: It is not one; the message lists the formats.
    """
    if fmt not in EXPORT_FORMATS:
        raise ExportRowError(f"unknown export format {fmt!r}; choose one of {', '.join(EXPORT_FORMATS)}")
    return fmt


@dataclass(frozen=True)
class _Turn:
    role: str
    content: str


@dataclass(frozen=True)
class _Row:
    """A stored row as the training formats read it, without building a whole ``Sample``."""

    id: str
    system: str
    turns: list[_Turn]


def _training_rows(store: DatasetStore, manifest: Manifest) -> Iterator[_Row]:
    for batch in store.iter_batches(manifest, EXPORT_BATCH, columns=_TRAINING_COLUMNS):
        for row in batch.to_pylist():
            if row["status"] == "accepted":
                turns = [_Turn(turn["role"], turn["content"]) for turn in row["turns"] or []]
                yield _Row(row["id"], row["system"] or "", turns)


def iter_version_lines(store: DatasetStore, ref: RefLike, fmt: ExportFormat) -> Iterator[str]:
    """Yield a version's samples as JSON lines (accepted ones only, unless ``fmt`` is ``raw``).

    Training formats read only the id, status, system and turns columns (no ``Sample`` per row);
    ``raw`` rebuilds every sample whole.

    Raises:
        DatasetError: The version does not exist.
        ExportRowError: A sample cannot be written in this format (names the sample).
    """
    manifest = store.resolve(ref)
    rows: Iterable[Exportable] = (
        (sample for samples in store.iter_samples(manifest, EXPORT_BATCH) for sample in samples)
        if fmt == "raw"
        else _training_rows(store, manifest)
    )
    try:
        yield from iter_jsonl_lines(rows, fmt)
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
