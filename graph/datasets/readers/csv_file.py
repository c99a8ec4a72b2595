"""CSV and TSV: the stdlib ``csv`` module (C), every cell read as text.

The encoding is sniffed (BOM, UTF-8, else a guess such as GB18030) unless given; the delimiter
is a tab for ``.tsv`` and sniffed among ``, ; | tab`` otherwise. Rows are numbered by record,
1 for the first record after the header, whatever newlines quoted cells hold. A record with more
or fewer cells than the header is a problem naming its row; a byte-order mark is stripped
wherever a broken export left it (the header or the first cell).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from graph.datasets.errors import RowProblem, SourceError
from graph.datasets.readers.base import BATCH_ROWS, RawBatch
from graph.datasets.readers.encoding import SNIFF_BYTES, sniff_encoding

BOM = "\ufeff"
csv.field_size_limit(64 << 20)


class CsvReader:
    """Rows of a delimited text file with a header line."""

    def __init__(
        self, path: Path, name: str | None = None, encoding: str | None = None, delimiter: str | None = None
    ) -> None:
        """Open ``path``; ``encoding`` and ``delimiter`` override what is sniffed."""
        self.path, self.name = path, name or str(path)
        self.kind = "tsv" if path.suffix.lower() == ".tsv" else "csv"
        self.encoding: str | None = sniff_encoding(path, encoding)
        if self.encoding == "utf-8":
            self.encoding = "utf-8-sig"
        self.delimiter = delimiter or ("\t" if self.kind == "tsv" else self._sniff_delimiter())

    def _sniff_delimiter(self) -> str:
        with self.path.open(encoding=self.encoding, errors="replace", newline="") as handle:
            head = handle.read(SNIFF_BYTES // 4)
        try:
            return csv.Sniffer().sniff(head, delimiters=",;\t|").delimiter
        except csv.Error:
            return ","

    def _rows(self) -> Iterator[tuple[int, list[str]]]:
        try:
            with self.path.open(encoding=self.encoding, newline="") as handle:
                reader = csv.reader(handle, delimiter=self.delimiter)
                yield from enumerate(reader)
        except UnicodeDecodeError as error:
            raise SourceError(
                f"{self.name}: bytes {error.start}-{error.end} are not {self.encoding}; give the file's "
                "encoding with --encoding (e.g. gb18030, utf-16)"
            ) from None
        except csv.Error as error:
            raise SourceError(f"{self.name}: not readable as CSV ({error})") from None

    def columns(self) -> list[str]:
        """Return the header's column names."""
        for _, header in self._rows():
            return [cell.replace(BOM, "").strip() for cell in header]
        raise SourceError(f"{self.name}: the file is empty (a CSV file needs a header line)")

    def peek(self, count: int) -> list[dict[str, Any]]:
        """Return up to ``count`` first records as dicts."""
        for batch in self._batches(count):
            return (batch.records or [])[:count]
        return []

    def batches(self, schema: pa.Schema | None = None) -> Iterator[RawBatch]:
        """Yield records in batches of dicts keyed by the header."""
        yield from self._batches(BATCH_ROWS)

    def _batches(self, size: int) -> Iterator[RawBatch]:
        header = self.columns()
        batch = RawBatch(self.name, [], records=[])
        for number, cells in self._rows():
            if number == 0 or not any(cell.strip() for cell in cells):
                continue
            if len(cells) != len(header):
                message = f"has {len(cells)} cells, the header has {len(header)} (a quote or delimiter is off)"
                batch.problems.append(RowProblem(self.name, number, "", message, self.delimiter.join(cells)))
            else:
                assert batch.records is not None
                batch.rows.append(number)
                batch.records.append({key: cell.replace(BOM, "") for key, cell in zip(header, cells, strict=True)})
            if len(batch.rows) + len(batch.problems) >= size:
                yield batch
                batch = RawBatch(self.name, [], records=[])
        if batch.rows or batch.problems:
            yield batch
