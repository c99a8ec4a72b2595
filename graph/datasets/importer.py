"""Import files as a new version: read, convert, check, write, in batches (bounded memory).

``import_sources(store, name, sources, options)`` opens each input (``graph.datasets.readers``),
chooses its format (``formats.detect``), and streams batches into one ``VersionWriter``. With
``on_error="fail"`` (the default) the first malformed row stops the import and nothing is
written; with ``"skip"`` bad rows are counted and kept in the version's ``rejects.jsonl``. Each
input's size and SHA-256 are computed on a second thread while it is read.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pyarrow as pa

from agents.schemas import utc_now
from graph.datasets.errors import BadRowError, FormatError, RowProblem
from graph.datasets.formats.base import Converted, Format
from graph.datasets.formats.detect import choose_format, describe
from graph.datasets.manifest import Manifest, SourceFile
from graph.datasets.prefetch import prefetch
from graph.datasets.readers import Reader, open_source
from graph.datasets.refs import check_name
from graph.datasets.rows import INPUT_SCHEMA, LINEAGE_JSON_FIELDS, LINEAGE_TYPE
from graph.datasets.store import DatasetStore
from graph.datasets.writer import VersionWriter

OnError = Literal["fail", "skip"]
Progress = Callable[[int, int], None]
"""Called after each batch with (rows imported, rows rejected) so far."""


def parse_pairs(text: str | None, option: str) -> dict[str, str] | None:
    """Parse ``key=COLUMN,key=COLUMN`` (``--map`` and ``--chat-log``, the same fields over HTTP).

    Raises:
        FormatError: An item is not ``key=value``.
    """
    if text is None or not text.strip():
        return None
    pairs: dict[str, str] = {}
    for item in text.split(","):
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise FormatError(f"{option} takes key=COLUMN pairs separated by commas, got {item!r}")
        pairs[key.strip()] = value.strip()
    return pairs


@dataclass
class ImportOptions:
    """How to read the inputs (every field optional: the default detects everything)."""

    format: str | None = None
    mapping: dict[str, str] | None = None
    chat_log: dict[str, str] | None = None
    on_error: OnError = "fail"
    encoding: str | None = None
    split: str | None = None
    tag: str | None = None

    def params(self) -> dict[str, object]:
        """Return the options worth recording in the manifest."""
        return {key: value for key, value in vars(self).items() if value is not None and key != "tag"}


@dataclass
class ImportResult:
    """The new version and what was detected in each input."""

    manifest: Manifest
    detected: list[str] = field(default_factory=list)


def import_sources(
    store: DatasetStore,
    name: str,
    sources: Sequence[str],
    options: ImportOptions | None = None,
    *,
    progress: Progress | None = None,
    on_detect: Callable[[str], None] | None = None,
) -> ImportResult:
    """Import every input (paths, HF folders, ``hf:owner/name``) into one new version of ``name``.

    Raises:
        DatasetError: An input cannot be read, its format is unknown or ambiguous, a row is
            malformed (with ``on_error="fail"``), or no row became a sample; nothing is written.
    """
    options = options or ImportOptions()
    check_name(name)
    readers = [
        reader for source in sources for reader in open_source(source, encoding=options.encoding, split=options.split)
    ]
    return import_readers(store, name, readers, options, progress=progress, on_detect=on_detect)


def import_readers(
    store: DatasetStore,
    name: str,
    readers: Sequence[Reader],
    options: ImportOptions | None = None,
    *,
    progress: Progress | None = None,
    on_detect: Callable[[str], None] | None = None,
) -> ImportResult:
    """Import already opened inputs (e.g. an HTTP upload saved to a file) into one new version."""
    options = options or ImportOptions()
    check_name(name)
    formats = [_format(reader, options) for reader in readers]
    detected = [
        f"{reader.name}: {reader.kind}, {describe(fmt)}{_encoding(reader)}"
        for reader, fmt in zip(readers, formats, strict=True)
    ]
    for line in detected:
        if on_detect:
            on_detect(line)
    writer = store.new_version(name, operation="import", params=options.params(), tag=options.tag)
    with writer, ThreadPoolExecutor(max_workers=1, thread_name_prefix="source-hash") as hasher:
        for reader, fmt in zip(readers, formats, strict=True):
            identity = hasher.submit(_identity, reader)
            read = _copy(reader, fmt, writer, options.on_error, progress)
            writer.add_source(_source(reader, fmt, identity, read))
        if writer.rows == 0:
            names = ", ".join(reader.name for reader in readers)
            raise BadRowError(f"nothing to import: no row of {names} became a sample" + _first(writer))
    return ImportResult(writer.manifest, detected)


def _format(reader: Reader, options: ImportOptions) -> Format:
    return choose_format(reader, options.format, options.mapping, options.chat_log)


def _encoding(reader: Reader) -> str:
    return f", {reader.encoding}" if reader.encoding else ""


def _copy(reader: Reader, fmt: Format, writer: VersionWriter, on_error: OnError, progress: Progress | None) -> int:
    """Stream one input into the writer; return how many rows it had.

    Reading and converting run on a worker thread (Arrow, NumPy: mostly without the GIL) while
    this thread hashes and hands rows to the writer, whose Parquet writes run on a third.
    """
    rows = 0
    for count, converted in prefetch(_converted(reader, fmt)):
        rows += count
        _write(converted, reader.name, writer, on_error)
        if progress:
            progress(writer.rows, writer.rejected)
    return rows


def _converted(reader: Reader, fmt: Format) -> Iterator[tuple[int, Converted]]:
    """Yield each batch's input row count and dialogues, then what the format still held."""
    for batch in reader.batches(fmt.read_schema()):
        yield len(batch) + len(batch.problems), fmt.convert(batch)
    tail = fmt.finish()
    if tail is not None:
        yield 0, tail


def _write(converted: Converted, file: str, writer: VersionWriter, on_error: OnError) -> None:
    if converted.problems:
        if on_error == "fail":
            problem = min(converted.problems, key=lambda p: p.row)
            raise BadRowError(f"{problem}; fix it, or import with --on-error skip to keep the rest (rejects.jsonl)")
        for problem in sorted(converted.problems, key=lambda p: p.row):
            writer.reject(problem)
    for reason, count in converted.dropped.items():
        writer.drop(reason, count)
    if converted.table.num_rows:
        writer.add_batch(_input_rows(converted.table, file))


def _input_rows(dialogues: pa.Table, file: str) -> pa.Table:
    """Give dialogues the writer's columns: no id yet (content-derived), accepted, import lineage."""
    count = dialogues.num_rows
    constants: dict[str, object] = {
        "origin": "import",
        "style": "",
        "topic": "",
        "workspace": "default",
        "source_file": file,
    }
    constants.update(dict.fromkeys(LINEAGE_JSON_FIELDS, "{}"))
    now = utc_now()
    children = []
    for child in LINEAGE_TYPE:
        if child.name in ("source_row", "source_row_end"):
            children.append(dialogues[child.name].combine_chunks())
        elif child.name == "started_at":
            children.append(pa.repeat(pa.scalar(now, child.type), count))
        else:
            children.append(pa.repeat(pa.scalar(constants.get(child.name), child.type), count))
    lineage = pa.StructArray.from_arrays(children, fields=list(LINEAGE_TYPE))
    columns = {
        "id": pa.nulls(count, pa.string()),
        "status": pa.repeat(pa.scalar("accepted"), count),
        "system": dialogues["system"],
        "turns": dialogues["turns"],
        "reject_reason": pa.nulls(count, pa.string()),
        "lineage": lineage,
        "attempts": pa.repeat(pa.scalar("[]"), count),
    }
    return pa.table(columns, schema=INPUT_SCHEMA)


def _identity(reader: Reader) -> tuple[int, str]:
    path = getattr(reader, "path", None)
    if not isinstance(path, Path) or not path.is_file():
        return 0, ""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 22):
            digest.update(block)
    return path.stat().st_size, digest.hexdigest()


def _source(reader: Reader, fmt: Format, identity: Future[tuple[int, str]], rows: int) -> SourceFile:
    size, sha256 = identity.result()
    return SourceFile(
        path=reader.name,
        kind=reader.kind,
        format=fmt.name,
        bytes=size,
        sha256=sha256,
        encoding=reader.encoding,
        rows_read=rows,
    )


def _first(writer: VersionWriter) -> str:
    return f" ({writer.rejected} rejected; see the first problem with --on-error fail)" if writer.rejected else ""


__all__ = ["ImportOptions", "ImportResult", "RowProblem", "import_readers", "import_sources", "parse_pairs"]
