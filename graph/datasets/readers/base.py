"""The reader protocol: one reader per input kind, each yielding batches of raw rows.

A reader knows bytes and containers (JSON Lines, a JSON array, CSV, Parquet, an HF folder), not
what the rows mean; a format (``graph.datasets.formats``) turns raw rows into dialogues. Rows
come in one of two shapes: an Arrow table (the fast path: the file parsed by Arrow's C++ readers)
or a list of Python dicts (the exact path, used for files Arrow cannot parse in one piece and for
blocks with a malformed row, so every problem can name its row and field).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

import pyarrow as pa

from graph.datasets.errors import RowProblem

BATCH_ROWS = 50_000
"""Rows per batch for readers that count rows (Parquet, HF folders, JSON arrays)."""


@dataclass
class RawBatch:
    """Raw rows of one input file, with their 1-based row numbers.

    Exactly one of ``table`` and ``records`` is set. ``problems`` are rows the reader itself
    could not parse (bad JSON, a CSV record with too many fields); they are not in the rows.
    """

    file: str
    rows: list[int]
    table: pa.Table | None = None
    records: list[dict[str, Any]] | None = None
    problems: list[RowProblem] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.rows)

    def all_records(self) -> list[dict[str, Any]]:
        """Return every row of the batch as Python dicts (one conversion for a whole table)."""
        if self.records is not None:
            return self.records
        assert self.table is not None
        rows: list[dict[str, Any]] = self.table.to_pylist()
        return rows

    def record(self, index: int) -> dict[str, Any]:
        """Return row ``index`` of the batch as a Python dict."""
        if self.records is not None:
            return self.records[index]
        assert self.table is not None
        rows: list[dict[str, Any]] = self.table.slice(index, 1).to_pylist()
        return rows[0]


class Reader(Protocol):
    """An input file opened for reading; nothing is read until ``peek`` or ``batches``."""

    kind: str
    """The input kind: jsonl, json, csv, tsv, parquet, hf-disk or hf-hub."""
    name: str
    """The file as the user named it (errors and lineage use it)."""
    encoding: str | None
    """The text encoding found (None for binary kinds)."""

    def peek(self, count: int) -> list[dict[str, Any]]:
        """Return up to ``count`` first rows as Python dicts (for format detection)."""
        ...

    def columns(self) -> list[str]:
        """Return the column names the rows have (from the header, schema or first rows)."""
        ...

    def batches(self, schema: pa.Schema | None = None) -> Iterator[RawBatch]:
        """Yield every row in order; ``schema`` names the fields a format needs (readers may use it)."""
        ...
