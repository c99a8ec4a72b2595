"""A folder written by HF ``datasets``' ``save_to_disk``: Arrow stream files listed in ``state.json``.

A ``DatasetDict`` folder (``dataset_dict.json``) holds one sub-folder per split: ``--split``
chooses one (needed when there are several). The Arrow files are memory-mapped and read batch by
batch; no ``datasets`` install is needed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from graph.datasets.errors import SourceError
from graph.datasets.readers.base import BATCH_ROWS, RawBatch, Reader


def open_saved_dataset(folder: Path, split: str | None = None) -> list[Reader]:
    """Return the reader of a ``save_to_disk`` folder (of one split of a ``DatasetDict``).

    Raises:
        SourceError: The folder is not a saved data set, or the split is missing or ambiguous.
    """
    if (folder / "dataset_dict.json").is_file():
        splits = json.loads((folder / "dataset_dict.json").read_text(encoding="utf-8")).get("splits", [])
        if split is None and len(splits) == 1:
            split = splits[0]
        if split is None or split not in splits:
            chosen = f"no split {split!r}" if split else "several splits"
            raise SourceError(f"{folder}: {chosen}; choose one with --split ({', '.join(splits)})")
        folder = folder / split
    if not (folder / "state.json").is_file():
        raise SourceError(f"{folder} is a folder but not one written by HF datasets' save_to_disk (no state.json)")
    return [SavedDatasetReader(folder)]


class SavedDatasetReader:
    """The rows of one saved split, in file order, rows numbered from 1."""

    kind = "hf-disk"
    encoding: str | None = None

    def __init__(self, folder: Path, name: str | None = None) -> None:
        """Read ``state.json`` to find the Arrow files."""
        self.path, self.name = folder, name or str(folder)
        state = json.loads((folder / "state.json").read_text(encoding="utf-8"))
        self.files = [folder / item["filename"] for item in state.get("_data_files", [])]
        missing = [str(file) for file in self.files if not file.is_file()]
        if missing or not self.files:
            raise SourceError(f"{folder}: data files missing ({', '.join(missing) or 'none listed in state.json'})")

    def _record_batches(self) -> Iterator[pa.RecordBatch]:
        for file in self.files:
            with pa.memory_map(str(file)) as source:
                try:
                    yield from pa.ipc.open_stream(source)
                except pa.ArrowInvalid as error:
                    raise SourceError(f"{file}: not an Arrow stream file ({error})") from None

    def columns(self) -> list[str]:
        """Return the schema's column names."""
        with pa.memory_map(str(self.files[0])) as source:
            return list(pa.ipc.open_stream(source).schema.names)

    def peek(self, count: int) -> list[dict[str, Any]]:
        """Return up to ``count`` first rows."""
        rows: list[dict[str, Any]] = []
        for batch in self._record_batches():
            rows.extend(batch.slice(0, count - len(rows)).to_pylist())
            if len(rows) >= count:
                break
        return rows

    def batches(self, schema: pa.Schema | None = None) -> Iterator[RawBatch]:
        """Yield tables of about ``BATCH_ROWS`` rows (the files' small batches gathered)."""
        pending: list[pa.RecordBatch] = []
        size, first = 0, 1
        for batch in self._record_batches():
            pending.append(batch)
            size += batch.num_rows
            if size >= BATCH_ROWS:
                yield RawBatch(self.name, list(range(first, first + size)), table=pa.Table.from_batches(pending))
                first, pending, size = first + size, [], 0
        if size:
            yield RawBatch(self.name, list(range(first, first + size)), table=pa.Table.from_batches(pending))
