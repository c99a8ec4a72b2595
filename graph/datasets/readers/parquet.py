"""Parquet files: Arrow's reader, one batch per ``BATCH_ROWS`` rows, rows numbered from 1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from graph.datasets.errors import SourceError
from graph.datasets.readers.base import BATCH_ROWS, RawBatch


class ParquetReader:
    """The rows of one Parquet file."""

    kind = "parquet"
    encoding: str | None = None

    def __init__(self, path: Path, name: str | None = None) -> None:
        """Open ``path``'s footer (the rows are read on demand)."""
        self.path, self.name = path, name or str(path)
        try:
            self._file = pq.ParquetFile(path)
        except (pa.ArrowInvalid, OSError) as error:
            raise SourceError(f"{self.name}: not a readable Parquet file ({error})") from None

    def columns(self) -> list[str]:
        """Return the schema's column names."""
        return list(self._file.schema_arrow.names)

    def peek(self, count: int) -> list[dict[str, Any]]:
        """Return up to ``count`` first rows."""
        for batch in self._file.iter_batches(batch_size=count):
            rows: list[dict[str, Any]] = batch.to_pylist()
            return rows
        return []

    def batches(self, schema: pa.Schema | None = None) -> Iterator[RawBatch]:
        """Yield tables of at most ``BATCH_ROWS`` rows."""
        columns = [name for name in schema.names if name in self.columns()] if schema is not None else None
        first = 1
        for batch in self._file.iter_batches(batch_size=BATCH_ROWS, columns=columns or None):
            yield RawBatch(self.name, list(range(first, first + batch.num_rows)), table=pa.Table.from_batches([batch]))
            first += batch.num_rows
