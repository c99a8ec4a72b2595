"""Cut knowledge sections into passages at sentence boundaries, Chinese and English alike.

LangChain's ``RecursiveCharacterTextSplitter`` splits on the coarsest separator that fits:
paragraphs, lines, then sentence ends (Chinese 。！？ and English . ! ?), then clauses (；;，、,), and
only then inside a sentence, keeping each separator at the end of its piece, so a Chinese passage
ends with its full stop instead of being cut mid-sentence. A question with its answer stays one
passage when it fits in twice the chunk size.
"""

from __future__ import annotations

from functools import lru_cache

from agents.knowledge.passage import Passage
from agents.knowledge.readers import Document

CHUNK_CHARS = 360
OVERLAP_CHARS = 40
SEPARATORS = ["\n\n", "\n", "。", "！", "？", "! ", "? ", ". ", "；", "; ", "，", "、", ", ", " ", ""]


@lru_cache(maxsize=8)
def _splitter(chunk_chars: int, overlap_chars: int) -> object:
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    return RecursiveCharacterTextSplitter(
        chunk_size=chunk_chars,
        chunk_overlap=overlap_chars,
        separators=SEPARATORS,
        keep_separator="end",
        strip_whitespace=True,
    )


def split_text(text: str, chunk_chars: int = CHUNK_CHARS, overlap_chars: int = OVERLAP_CHARS) -> list[str]:
    """Split one text into sentence-aligned pieces of at most ``chunk_chars`` characters (when possible)."""
    splitter = _splitter(chunk_chars, overlap_chars)
    return [piece for piece in splitter.split_text(text) if piece.strip()]  # type: ignore[attr-defined]


def chunk_document(document: Document, chunk_chars: int = CHUNK_CHARS) -> list[Passage]:
    """Cut a document into passages with ids ``<source>#<n>`` (n counts from 0 through the file)."""
    passages: list[Passage] = []
    for section in document.sections:
        if section.whole and len(section.text) <= 2 * chunk_chars:
            pieces = [section.text.strip()]
        else:
            pieces = split_text(section.text, chunk_chars)
        for piece in pieces:
            text = f"{section.title}: {piece}" if section.title and not section.whole else piece
            passages.append(Passage(f"{document.source}#{len(passages)}", text, document.source, section.title))
    return passages
