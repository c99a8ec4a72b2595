"""A JSON document (``.json``): a top-level array of objects, or an object holding one such array.

Parsed incrementally with ijson (its C yajl2 backend), so a file of any size streams in bounded
memory. Rows are numbered by their position in the array (1-based). Broken JSON cannot be
resynchronised, so it stops the import with the element where it broke.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import ijson
import pyarrow as pa

from graph.datasets.errors import RowProblem, SourceError
from graph.datasets.readers.base import BATCH_ROWS, RawBatch
from graph.datasets.readers.encoding import sniff_encoding


class JsonArrayReader:
    """The objects of a JSON array (or of the first array-valued key of a top-level object)."""

    kind = "json"

    def __init__(self, path: Path, name: str | None = None, encoding: str | None = None) -> None:
        """Open ``path``; the array is found on first use."""
        self.path, self.name = path, name or str(path)
        self.encoding: str | None = sniff_encoding(path, encoding)
        self._prefix: str | None = None

    def _open(self) -> IO[bytes]:
        if self.encoding in ("utf-8", "utf-8-sig"):
            handle = self.path.open("rb")
            if handle.read(3) != b"\xef\xbb\xbf":
                handle.seek(0)
            return handle
        text = self.path.read_text(encoding=self.encoding or "utf-8").lstrip("\ufeff")
        return io.BytesIO(text.encode("utf-8"))  # non-UTF-8 JSON documents are small in practice

    @property
    def prefix(self) -> str:
        """The ijson path of the array's items: ``item`` or ``<key>.item``."""
        if self._prefix is None:
            self._prefix = self._find_array()
        return self._prefix

    def _find_array(self) -> str:
        with self._open() as handle:
            try:
                for path, event, _ in ijson.parse(handle):
                    if path == "" and event == "start_array":
                        return "item"
                    if path == "" and event not in ("start_map", "map_key"):
                        break
                    if event == "start_array" and "." not in path:
                        return f"{path}.item"
                    if event == "map_key" and path == "":
                        continue
            except ijson.JSONError as error:
                raise SourceError(f"{self.name}: not valid JSON ({error})") from None
        raise SourceError(f"{self.name}: expected a JSON array of objects (or an object holding one)")

    def peek(self, count: int) -> list[dict[str, Any]]:
        """Return up to ``count`` first objects."""
        found: list[dict[str, Any]] = []
        for batch in self._records(count):
            found.extend(record for record in batch.records or [] if isinstance(record, dict))
            break
        return found[:count]

    def columns(self) -> list[str]:
        """Return the keys of the first objects."""
        keys: dict[str, None] = {}
        for row in self.peek(100):
            keys.update(dict.fromkeys(row))
        return list(keys)

    def batches(self, schema: pa.Schema | None = None) -> Iterator[RawBatch]:
        """Yield the array's objects in batches (``schema`` is not needed here)."""
        yield from self._records(BATCH_ROWS)

    def _records(self, size: int) -> Iterator[RawBatch]:
        number = 0
        batch = RawBatch(self.name, [], records=[])
        with self._open() as handle:
            try:
                for value in ijson.items(handle, self.prefix, use_float=True):
                    number += 1
                    if isinstance(value, dict):
                        batch.rows.append(number)
                        assert batch.records is not None
                        batch.records.append(value)
                    else:
                        message = "not a JSON object; the array must hold one object per sample"
                        batch.problems.append(RowProblem(self.name, number, "", message, value))
                    if len(batch.rows) + len(batch.problems) >= size:
                        yield batch
                        batch = RawBatch(self.name, [], records=[])
            except ijson.JSONError as error:
                raise SourceError(f"{self.name}: not valid JSON after element {number} ({error})") from None
        if batch.rows or batch.problems:
            yield batch
