"""Open an input by what it is: ``open_source(path)`` returns one reader per file it holds.

``.jsonl``/``.ndjson`` JSON Lines; ``.json`` a JSON array (or JSON Lines when the file is one
object a line, as many exports named ``.json`` are); ``.csv``/``.tsv``; ``.parquet``; a folder
written by HF ``datasets``' ``save_to_disk``; ``hf:owner/name`` for a Hub data set already in
the local Hugging Face cache (nothing is downloaded).
"""

from __future__ import annotations

import json
from pathlib import Path

from graph.datasets.errors import SourceError
from graph.datasets.readers.base import RawBatch, Reader
from graph.datasets.readers.csv_file import CsvReader
from graph.datasets.readers.json_array import JsonArrayReader
from graph.datasets.readers.jsonl import JsonLinesReader
from graph.datasets.readers.parquet import ParquetReader

__all__ = ["RawBatch", "Reader", "open_file", "open_source"]
SUFFIXES = (".jsonl", ".ndjson", ".json", ".csv", ".tsv", ".parquet")


def open_source(spec: str, *, encoding: str | None = None, split: str | None = None) -> list[Reader]:
    """Return the readers of an input: a file, an HF ``save_to_disk`` folder or ``hf:owner/name``.

    Raises:
        SourceError: The input does not exist, or is of a kind no reader knows.
    """
    if spec.startswith("hf:"):
        from graph.datasets.readers.hf_hub import open_hub_dataset

        return open_hub_dataset(spec[3:], split=split, encoding=encoding)
    path = Path(spec).expanduser()
    if path.is_dir():
        from graph.datasets.readers.hf_disk import open_saved_dataset

        return open_saved_dataset(path, split=split)
    if not path.exists():
        raise SourceError(f"no such file: {spec}")
    return [open_file(path, spec, encoding=encoding)]


def open_file(path: Path, name: str, *, encoding: str | None = None) -> Reader:
    """Return the reader for one file, chosen by its suffix.

    Raises:
        SourceError: The suffix is not one of ``SUFFIXES``.
    """
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return JsonLinesReader(path, name, encoding)
    if suffix == ".json":
        return JsonLinesReader(path, name, encoding) if _is_json_lines(path) else JsonArrayReader(path, name, encoding)
    if suffix in (".csv", ".tsv"):
        return CsvReader(path, name, encoding)
    if suffix == ".parquet":
        return ParquetReader(path, name)
    raise SourceError(f"{name}: unsupported file type {suffix or '(none)'!r}; use one of {', '.join(SUFFIXES)}")


def _is_json_lines(path: Path) -> bool:
    """Whether a ``.json`` file holds one object a line (its first line is a whole object)."""
    with path.open("rb") as handle:
        first = handle.readline(1 << 20).lstrip(b"\xef\xbb\xbf").strip()
        second = handle.readline(1 << 20).strip()
    if not first.startswith(b"{") or not second.startswith(b"{"):
        return False
    try:
        return isinstance(json.loads(first), dict)
    except ValueError:
        return False
