"""Find person names and postal addresses (optional, slower than the checksum detectors in ``agents.pii``).

Chinese names and places come from ``jieba``'s part-of-speech tagger (MIT, dictionary shipped in
the package, offline): tokens tagged ``nr``/``nrfg``/``nrt`` (person) of two or more characters
are names; a run of place tokens (``ns``) followed by a street and number (``建国路88号``) is an
address. English has no offline NER that installs here without downloading a model (spaCy and
GLiNER fetch weights; Presidio needs spaCy), so English uses rules: a capitalised name after an
honorific or an introduction ("Mr. Smith", "my name is Jane Doe"), and a street address (a house
number, capitalised words and a street type). What they miss is measured in
``tests/agents/test_pii_names.py`` and written in the closing note of issue 10.

jieba tags about 15,000 characters a second here, so the ``pii`` operator runs this only when
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
_ZH_STREET = re.compile(
    r"[\u4e00-\u9fa5A-Za-z0-9]{0,16}?(?:路|街|道|巷|弄|胡同|大道|村)"
    r"(?:[0-9０-９一二三四五六七八九十百]+(?:号|號)(?:院)?)"
    r"(?:[0-9０-９A-Za-z]+(?:栋|幢|座|号楼|单元|层|楼|室|号))*"
)
_PERSON_TAGS = frozenset({"nr", "nrfg", "nrt"})


@lru_cache(maxsize=1)
def _tagger() -> Any:
    import jieba
    import jieba.posseg

    jieba.setLogLevel(logging.WARNING)
    return jieba.posseg


def _zh_hits(text: str, names: bool, addresses: bool) -> list[PiiHit]:
    hits: list[PiiHit] = []
    offset = 0
    tokens = [(word, flag) for word, flag in _tagger().cut(text)]
    place_start: int | None = None
    for word, flag in tokens:
        start, end = offset, offset + len(word)
        offset = end
        if names and flag in _PERSON_TAGS and len(word) >= 2:
            hits.append(PiiHit("name", word, start, end))
        if addresses:
            if flag == "ns":
                place_start = start if place_start is None else place_start
                continue
            if place_start is not None:
                street = _ZH_STREET.match(text, start)
                if street:
                    hits.append(PiiHit("address", text[place_start : street.end()], place_start, street.end()))
            place_start = None
    return hits


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
