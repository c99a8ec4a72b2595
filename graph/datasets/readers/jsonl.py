"""JSON Lines (``.jsonl``, ``.ndjson``): Arrow's C++ JSON reader over newline-aligned blocks.

The file is read in blocks of ``BLOCK_BYTES`` cut at a newline, ``PARSE_THREADS`` parsed at once,
so memory stays bounded. A block that Arrow parses is passed on as a table; a block with a
malformed line (bad JSON, a field of an unexpected type) is parsed again line by line, so each
problem names its line and the good lines of the block still count.
"""

from __future__ import annotations

import io
import json
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.json as paj

from graph.datasets.errors import RowProblem
from graph.datasets.readers.base import RawBatch
from graph.datasets.readers.encoding import sniff_encoding

BLOCK_BYTES = 8 << 20
PARSE_THREADS = 2
"""Blocks parsed at once (Arrow parses without the GIL); batches are still yielded in file order."""


class JsonLinesReader:
    """One JSON object a line; blank lines are skipped; rows are numbered by line."""

    kind = "jsonl"

    def __init__(self, path: Path, name: str | None = None, encoding: str | None = None) -> None:
        """Open ``path`` (``name`` is how errors call it; ``encoding`` overrides the sniffed one)."""
        self.path, self.name = path, name or str(path)
        self.encoding: str | None = sniff_encoding(path, encoding)

    def chunks(self) -> Iterator[bytes]:
        """Yield UTF-8 blocks of whole lines (a BOM removed, other encodings transcoded)."""
        if self.encoding in ("utf-8", "utf-8-sig"):
            with self.path.open("rb") as handle:
                first, leftover = True, b""
                while data := handle.read(BLOCK_BYTES):
                    if first and data.startswith(b"\xef\xbb\xbf"):
                        data = data[3:]
                    first = False
                    cut = data.rfind(b"\n")
                    if cut < 0:
                        leftover += data
                        continue
                    # one copy of the block: the previous block's tail and this one's whole lines
                    yield b"".join((leftover, memoryview(data)[: cut + 1]))
                    leftover = data[cut + 1 :]
                if leftover.strip():
                    yield leftover + b"\n"
            return
        with self.path.open(encoding=self.encoding, newline="") as text:
            pending = ""
            while decoded := text.read(BLOCK_BYTES // 2):
                joined = pending + decoded
                end = joined.rfind("\n")
                if end < 0:
                    pending = joined
                    continue
                pending = joined[end + 1 :]
                yield joined[: end + 1].lstrip("\ufeff").encode("utf-8")
            if pending.strip():
                yield (pending + "\n").encode("utf-8")

    def peek(self, count: int) -> list[dict[str, Any]]:
        """Return up to ``count`` first objects (malformed lines are passed over)."""
        found: list[dict[str, Any]] = []
        for chunk in self.chunks():
            for line in chunk.split(b"\n"):
                try:
                    value = json.loads(line) if line.strip() else None
                except ValueError:
                    continue
                if isinstance(value, dict):
                    found.append(value)
                if len(found) >= count:
                    return found
        return found

    def columns(self) -> list[str]:
        """Return the keys of the first objects, in order of appearance."""
        keys: dict[str, None] = {}
        for row in self.peek(100):
            keys.update(dict.fromkeys(row))
        return list(keys)

    def batches(self, schema: pa.Schema | None = None) -> Iterator[RawBatch]:
        """Yield one batch per block; ``schema`` (the fields a format reads) speeds Arrow up."""
        first_line = 1
        with ThreadPoolExecutor(max_workers=PARSE_THREADS, thread_name_prefix="jsonl-parse") as pool:
            parsing: deque[Future[RawBatch]] = deque()
            for chunk in self.chunks():
                lines = chunk.count(b"\n")
                parsing.append(pool.submit(self._parse, chunk, first_line, lines, schema))
                first_line += lines
                if len(parsing) >= PARSE_THREADS:
                    yield parsing.popleft().result()
            while parsing:
                yield parsing.popleft().result()

    def _parse(self, chunk: bytes, first_line: int, lines: int, schema: pa.Schema | None) -> RawBatch:
        """Parse a block of ``lines`` whole lines whose first is line ``first_line``."""
        options = paj.ParseOptions(
            explicit_schema=schema, unexpected_field_behavior="ignore" if schema is not None else "infer"
        )
        try:
            table = _read(chunk, options)
        except pa.ArrowInvalid:
            return self._parse_lines(chunk, first_line, lines)
        if table.num_rows == lines:
            rows = list(range(first_line, first_line + lines))
        else:  # blank lines: number the rows by the lines that hold them
            rows = [first_line + i for i, line in enumerate(chunk.split(b"\n")[:lines]) if line.strip()]
        return RawBatch(self.name, rows, table=table)

    def _parse_lines(self, chunk: bytes, first_line: int, lines: int) -> RawBatch:
        rows: list[int] = []
        records: list[dict[str, Any]] = []
        problems: list[RowProblem] = []
        for offset, line in enumerate(chunk.split(b"\n")[:lines]):
            if not line.strip():
                continue
            number = first_line + offset
            text = line.decode("utf-8", "replace")
            try:
                value = json.loads(line)
            except ValueError as error:
                reason = getattr(error, "msg", str(error))
                where = f" at column {error.colno}" if isinstance(error, json.JSONDecodeError) else ""
                problems.append(RowProblem(self.name, number, "", f"not valid JSON: {reason}{where}", text))
                continue
            if not isinstance(value, dict):
                problems.append(RowProblem(self.name, number, "", "not a JSON object; write one object a line", text))
                continue
            rows.append(number)
            records.append(value)
        return RawBatch(self.name, rows, records=records, problems=problems)


def _read(chunk: bytes, options: paj.ParseOptions) -> pa.Table:
    """Parse a block of whole lines as one Arrow block, on this thread.

    The importer runs readers on a worker thread beside its hashing and Parquet writes, so Arrow's
    own threads would only compete for the same cores (and cost ~10% more CPU).
    """
    read_options = paj.ReadOptions(block_size=len(chunk) + 1, use_threads=False)
    return paj.read_json(io.BytesIO(chunk), read_options=read_options, parse_options=options)
