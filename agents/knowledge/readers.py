"""Read knowledge files into sections: Markdown, text, HTML, PDF, and JSON/JSONL/CSV of Q&A pairs.

One reader per kind of file, each returning ``Section``s (a heading's text, a page, or one
question with its answer). Headings come from LangChain's ``MarkdownHeaderTextSplitter`` (HTML
is turned into the same Markdown headings with BeautifulSoup first); PDF text comes from pypdf.
Every error names the file and says what to fix; nothing is ever written back to the files.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_FILES = 2000
QA_KEYS = (
    ("question", "answer"),
    ("q", "a"),
    ("instruction", "output"),
    ("prompt", "response"),
    ("问题", "答案"),
    ("问", "答"),
)
HEADINGS = [("#", "h1"), ("##", "h2"), ("###", "h3")]


class KnowledgeError(ValueError):
    """A knowledge source cannot be used; the message names the file and what to fix."""


@dataclass(frozen=True)
class Section:
    """A titled piece of a file: text under a heading, a PDF page, or one question and its answer."""

    title: str
    text: str
    whole: bool = False  # a Q&A pair: kept in one passage when it fits


@dataclass(frozen=True)
class Document:
    """One knowledge file, read."""

    source: str
    sha256: str
    sections: list[Section]


def _markdown(text: str) -> list[Section]:
    from langchain_text_splitters import MarkdownHeaderTextSplitter

    splitter = MarkdownHeaderTextSplitter(HEADINGS, strip_headers=True)
    sections = []
    for part in splitter.split_text(text):
        title = " > ".join(str(part.metadata[key]) for _, key in HEADINGS if key in part.metadata)
        if part.page_content.strip():
            sections.append(Section(title, part.page_content.strip()))
    return sections


def _plain(text: str) -> list[Section]:
    return [Section("", text.strip())] if text.strip() else []


def _html(text: str) -> list[Section]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(text, "html.parser")
    for tag in soup(["script", "style", "nav", "footer"]):
        tag.decompose()
    for level in (1, 2, 3):
        for heading in soup.find_all(f"h{level}"):
            heading.replace_with(f"\n\n{'#' * level} {heading.get_text(' ', strip=True)}\n\n")
    return _markdown(soup.get_text("\n"))


def _pdf(data: bytes) -> list[Section]:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    pages = [(page.extract_text() or "").strip() for page in reader.pages]
    return [Section(f"page {number}", text) for number, text in enumerate(pages, start=1) if text]


def _qa_rows(rows: list[dict[str, str]], source: str) -> list[Section]:
    if not rows:
        return []
    columns = {key.strip().lower(): key for key in rows[0]}
    for question, answer in QA_KEYS:
        if question in columns and answer in columns:
            q_key, a_key = columns[question], columns[answer]
            pairs = [(str(row.get(q_key) or "").strip(), str(row.get(a_key) or "").strip()) for row in rows]
            return [Section(q, f"{q}\n{a}", whole=True) for q, a in pairs if q and a]
    pairs_hint = ", ".join(f"{q}/{a}" for q, a in QA_KEYS)
    raise KnowledgeError(
        f"knowledge file {source} has no question and answer columns (found: {', '.join(rows[0]) or 'none'}); "
        f"name them one of {pairs_hint}"
    )


def _json(text: str, source: str) -> list[Section]:
    value = json.loads(text)
    if isinstance(value, dict):
        value = next((v for v in value.values() if isinstance(v, list)), [value])
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise KnowledgeError(f"knowledge file {source} must hold a list of question/answer objects")
    return _qa_rows([{str(k): str(v) for k, v in item.items()} for item in value], source)


def _jsonl(text: str, source: str) -> list[Section]:
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            item = json.loads(line)
            if not isinstance(item, dict):
                raise KnowledgeError(f"knowledge file {source}: line {number} is not a JSON object")
            rows.append({str(k): str(v) for k, v in item.items()})
    return _qa_rows(rows, source)


def _csv(text: str, source: str) -> list[Section]:
    return _qa_rows([dict(row) for row in csv.DictReader(io.StringIO(text))], source)


TEXT_READERS: dict[str, Callable[[str, str], list[Section]]] = {
    ".md": lambda text, _: _markdown(text),
    ".markdown": lambda text, _: _markdown(text),
    ".txt": lambda text, _: _plain(text),
    ".text": lambda text, _: _plain(text),
    ".html": lambda text, _: _html(text),
    ".htm": lambda text, _: _html(text),
    ".json": _json,
    ".jsonl": _jsonl,
    ".csv": _csv,
}
SUPPORTED = frozenset({*TEXT_READERS, ".pdf"})


def list_files(path: Path) -> list[Path]:
    """Return the knowledge files at ``path`` (a file, or a folder searched recursively), sorted.

    Raises:
        KnowledgeError: the path does not exist, a named file has an unsupported type, a folder
            holds no supported file, or more than MAX_FILES.
    """
    if not path.exists():
        raise KnowledgeError(f"knowledge file not found: {path}")
    if path.is_file():
        if path.suffix.lower() not in SUPPORTED:
            raise KnowledgeError(f"knowledge file {path} has an unsupported type; use one of {_kinds()}")
        return [path]
    found = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED)
    found = [p for p in found if not any(part.startswith(".") for part in p.relative_to(path).parts)]
    if not found:
        raise KnowledgeError(f"no knowledge files in {path}: add files of type {_kinds()}")
    if len(found) > MAX_FILES:
        raise KnowledgeError(f"{path} holds {len(found)} knowledge files; at most {MAX_FILES} are read")
    return found


def _kinds() -> str:
    return ", ".join(sorted(SUPPORTED))


def file_digest(data: bytes) -> str:
    """Return the SHA-256 of a file's bytes (what decides whether it is indexed again)."""
    return hashlib.sha256(data).hexdigest()


def read_bytes(path: Path, source: str) -> bytes:
    """Read a knowledge file's bytes, bounded; unreadable or too large files raise KnowledgeError."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise KnowledgeError(f"knowledge file {source} is {size // 1024 // 1024} MiB; the limit is 20 MiB")
        return path.read_bytes()
    except OSError as exc:
        raise KnowledgeError(f"cannot read knowledge file {source}: {exc.strerror or exc}") from None


def read_document(path: Path, source: str, data: bytes | None = None) -> Document:
    """Read one knowledge file into sections.

    Args:
        path: The file.
        source: Its name inside the knowledge set (used in passage ids and errors).
        data: Its bytes, when already read (for the hash).
    """
    data = read_bytes(path, source) if data is None else data
    suffix = path.suffix.lower()
    try:
        sections = _pdf(data) if suffix == ".pdf" else TEXT_READERS[suffix](data.decode("utf-8-sig"), source)
    except KnowledgeError:
        raise
    except UnicodeDecodeError:
        raise KnowledgeError(f"knowledge file {source} is not UTF-8 text: save it as UTF-8") from None
    except Exception as exc:  # a broken JSON, CSV or PDF: one line naming the file
        raise KnowledgeError(f"cannot read knowledge file {source}: {type(exc).__name__}: {exc}") from None
    return Document(source, file_digest(data), sections)
