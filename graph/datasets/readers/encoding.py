"""Find a text file's encoding: a byte-order mark, else strict UTF-8, else charset-normalizer's guess.

Chinese exports are often GBK (Excel, older Windows tools); GBK and GB2312 guesses are widened
to GB18030, their superset, so no valid character is refused.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from charset_normalizer import from_bytes

from graph.datasets.errors import SourceError

SNIFF_BYTES = 1 << 16
_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_WIDER = {"gb2312": "gb18030", "gbk": "gb18030", "cp936": "gb18030"}


def sniff_encoding(path: Path, declared: str | None = None) -> str:
    """Return the encoding to read ``path`` with (``declared`` wins when given and known).

    Raises:
        SourceError: The declared encoding is unknown, or no encoding fits the bytes.
    """
    if declared:
        try:
            return codecs.lookup(declared).name
        except LookupError:
            raise SourceError(
                f"unknown encoding {declared!r}; use a Python codec name such as utf-8 or gb18030"
            ) from None
    with path.open("rb") as handle:
        head = handle.read(SNIFF_BYTES)
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name
    if _is_utf8(head, complete=len(head) < SNIFF_BYTES):
        return "utf-8"
    best = from_bytes(head).best()
    if best is None:
        raise SourceError(f"{path}: cannot tell the text encoding; give it with --encoding (e.g. gb18030)")
    name = codecs.lookup(best.encoding).name
    return _WIDER.get(name, name)


def _is_utf8(head: bytes, complete: bool) -> bool:
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        # A multi-byte character cut by the sniff window is not an error.
        return not complete and error.start >= len(head) - 3 and error.reason == "unexpected end of data"
    return True
