"""Find person names and postal addresses (optional, slower than the checksum detectors in ``agents.pii``).

Chinese names come from ``jieba``'s part-of-speech tagger (MIT, dictionary shipped in the package,
offline): tokens tagged ``nr``/``nrfg``/``nrt`` (person), a one-character surname joined to the
given name after it, minus courtesy words and tokens ending like places or products (区, 卡...).
A Chinese address is a street with a house number (``建国路88号``, ``人民南路四段12号3单元``) and
the divisions before it (省/市/区/县...). English has no offline NER that installs here without
downloading a model (spaCy and GLiNER fetch weights; Presidio needs spaCy), so English uses rules:
a capitalised name after an honorific or an introduction ("Mr. Smith", "my name is Jane Doe"),
and a street address (a house number, capitalised words and a street type). What they find and
miss is measured on a labelled set by ``python -m benchmarks.pii_names_recall`` (names said with
no cue, "Michael said...", and brands jieba takes for names, 华为, are the known misses).

jieba tags about 20,000 characters a second here, so the ``pii`` operator runs this only when
asked (``names: true`` / ``addresses: true``).
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from typing import Any

from agents.pii import PiiHit

_EN_NAME = re.compile(
    r"(?:\b(?:Mr|Mrs|Ms|Miss|Dr|Prof|Sir|Madam)\.?\s+|\b(?:[Mm]y name is|I am|I'm|[Tt]his is|[Cc]all me)\s+)"
    r"(?P<name>[A-Z][a-z]+(?:[ -][A-Z][a-z]+){0,2})"
)
_EN_ADDRESS = re.compile(
    r"\b\d{1,6}\s+(?:[A-Z][a-z]+\s+){1,4}(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct"
    r"|Way|Place|Pl|Terrace|Close|Square|Sq)\b(?:,?\s+(?:Apt|Suite|Unit|Flat)\s*\d+\w?)?"
)
_ZH_ADDRESS = re.compile(
    r"(?:[\u4e00-\u9fa5]{2,8}?(?:省|自治区|市|自治州|地区|盟|区|县|旗|镇|乡|街道)){0,4}"
    r"[\u4e00-\u9fa5A-Za-z0-9]{1,12}?(?:路|街|道|巷|弄|胡同|大道|村)"
    r"(?:[一二三四五六七八九十]+段)?[0-9０-９一二三四五六七八九十百]+(?:号|號)(?:院)?"
    r"(?:[0-9０-９A-Za-z]+(?:栋|幢|座|号楼|单元|层|楼|室|号))*"
)
"""A street with a house number (``建国路88号``, ``人民南路四段12号3单元``), with the divisions before it."""
_PERSON_TAGS = frozenset({"nr", "nrfg", "nrt"})
_NOT_NAMES = frozenset({"谢谢", "谢谢你", "多谢"})
_NOT_NAME_ENDINGS = ("区", "市", "县", "省", "路", "街", "卡", "号", "店")
_GIVEN_NAME_TAGS = frozenset({"n", "nr", "ns", "nz", "ng"})
_PLACE_ENDINGS = ("省", "市", "区", "县", "旗", "镇", "乡", "州", "路", "街", "道", "巷", "弄", "村")


@lru_cache(maxsize=1)
def _tagger() -> Any:
    import jieba
    import jieba.posseg

    jieba.setLogLevel(logging.WARNING)
    return jieba.posseg


def _zh_names(tokens: list[tuple[int, str, str]]) -> list[PiiHit]:
    """Return person names jieba tagged (a one-character surname joined to the given name after it)."""
    hits: list[PiiHit] = []
    for index, (start, word, flag) in enumerate(tokens):
        if flag not in _PERSON_TAGS:
            continue
        if len(word) == 1 and index + 1 < len(tokens):
            _, following, tag = tokens[index + 1]
            if tag in _GIVEN_NAME_TAGS and len(following) <= 2:
                word = word + following
        if len(word) >= 2 and word not in _NOT_NAMES and not word.endswith(_NOT_NAME_ENDINGS):
            hits.append(PiiHit("name", word, start, start + len(word)))
    return hits


def _zh_addresses(text: str, tokens: list[tuple[int, str, str]]) -> list[PiiHit]:
    """Return street-and-number addresses, starting at the first place-like token of each match.

    The pattern alone would start at "地址是北京市…" (any characters before 市 look like a city):
    the start moves to the first token jieba tags as a place or that ends like a division or a street.
    """
    hits: list[PiiHit] = []
    for match in _ZH_ADDRESS.finditer(text):
        starts = [
            start
            for start, word, flag in tokens
            if match.start() <= start < match.end() and (flag == "ns" or word.endswith(_PLACE_ENDINGS))
        ]
        begin = starts[0] if starts else match.start()
        hits.append(PiiHit("address", text[begin : match.end()], begin, match.end()))
    return hits


def _zh_hits(text: str, names: bool, addresses: bool) -> list[PiiHit]:
    tokens: list[tuple[int, str, str]] = []
    offset = 0
    for word, flag in _tagger().cut(text):
        tokens.append((offset, word, flag))
        offset += len(word)
    hits = _zh_names(tokens) if names else []
    return hits + (_zh_addresses(text, tokens) if addresses else [])


def find_names_and_addresses(text: str, *, names: bool = True, addresses: bool = True) -> list[PiiHit]:
    """Return the person names (kind ``name``) and postal addresses (kind ``address``) found in a text."""
    hits: list[PiiHit] = []
    if re.search(r"[\u4e00-\u9fff]", text):
        hits += _zh_hits(text, names, addresses)
    if names:
        hits += [PiiHit("name", m.group("name"), m.start("name"), m.end("name")) for m in _EN_NAME.finditer(text)]
    if addresses:
        hits += [PiiHit("address", m.group(), m.start(), m.end()) for m in _EN_ADDRESS.finditer(text)]
    return hits
