"""Find and redact personal data in dialogue text: emails, phones, Chinese IDs, card numbers, IBANs.

Phone numbers are found by ``phonenumbers`` (the Python port of Google's libphonenumber, Apache-2.0,
pure Python, offline): it knows every country's numbering plan, which no regex does. The other kinds
are short regexes plus their standard checksums (Luhn and the card networks' prefixes, GB 11643
for the resident ID, ISO 7064 mod 97-10 for IBAN), a few lines each. Presidio was not used: it
loads a spaCy model that must be downloaded at run time, impossible offline; scrubadub is
unmaintained; python-stdnum would only replace the three checksums and is LGPL.

False positives matter as much as misses: order numbers (``#ORD12345``), amounts, years, dates and
timestamps are common in customer-service data and must not be flagged. So a bare digit run counts
as a phone number only when it is a Chinese mobile number or starts with a trunk ``0``; formatted
numbers (``+44 20 7946 0958``, ``(415) 555-2671``) count in any plan; business hotlines (toll-free,
shared-cost, premium) are not personal data and are ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import phonenumbers
from phonenumbers import Leniency, PhoneNumberMatcher, PhoneNumberType

PLACEHOLDERS: dict[str, str] = {
    "email": "[EMAIL]",
    "phone": "[PHONE]",
    "id_card": "[ID_NUMBER]",
    "payment_card": "[CARD_NUMBER]",
    "iban": "[IBAN]",
    "name": "[NAME]",
    "address": "[ADDRESS]",
}
LABELS: dict[str, str] = {
    "email": "email address",
    "phone": "phone number",
    "id_card": "Chinese resident ID number",
    "payment_card": "payment card number",
    "iban": "IBAN",
    "name": "person name",
    "address": "postal address",
}
DEFAULT_REGIONS: tuple[str, ...] = ("CN", "US")

_PERSONAL_PHONE_TYPES = {
    PhoneNumberType.FIXED_LINE,
    PhoneNumberType.MOBILE,
    PhoneNumberType.FIXED_LINE_OR_MOBILE,
    PhoneNumberType.PERSONAL_NUMBER,
    PhoneNumberType.VOIP,
    PhoneNumberType.PAGER,
}
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,}(?![\w-])", re.ASCII)
_ID_CARD = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
_CARD = re.compile(
    r"(?<![0-9A-Za-z#])(?:\d{13,19}|\d{4}(?P<s>[ -])\d{4}(?:(?P=s)\d{4}){1,2}(?:(?P=s)\d{1,3})?"
    r"|\d{4}(?P<a>[ -])\d{6}(?P=a)\d{4,5})(?![0-9A-Za-z])"
)
# (first prefix, last prefix, card lengths) of the major networks: Visa, Mastercard, Amex, UnionPay,
# Discover, JCB, Diners, Maestro. A Luhn-valid run outside them is taken for an ordinary number.
_CARD_RANGES: list[tuple[str, str, range]] = [
    ("4", "4", range(13, 20, 3)),
    ("51", "55", range(16, 17)),
    ("2221", "2720", range(16, 17)),
    ("34", "34", range(15, 16)),
    ("37", "37", range(15, 16)),
    ("62", "62", range(16, 20)),
    ("6011", "6011", range(16, 20)),
    ("644", "649", range(16, 20)),
    ("65", "65", range(16, 20)),
    ("3528", "3589", range(16, 20)),
    ("300", "305", range(14, 17)),
    ("36", "36", range(14, 17)),
    ("38", "39", range(14, 17)),
    ("50", "50", range(13, 20)),
    ("56", "58", range(13, 20)),
    ("67", "67", range(13, 20)),
]
_IBAN = re.compile(r"(?<![0-9A-Za-z])[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}(?![0-9A-Za-z])")
_MAYBE_NUMBER = re.compile(
    r"\d(?:[\s+\-x\u2010-\u2015\u2212\u30fc\uff0d-\uff0f\u00ad\u200b\u2060()\uff08\uff09\uff3b\uff3d.\[\]/~"
    r"\u2053\u223c\uff5e]{0,4}\d){6}|[A-Z]{2}\d{2}"
)
"""Seven digits, each at most four separators from the next (every phone, ID and card number has such a run:
libphonenumber's matcher allows at most four of its punctuation characters, this class, between digit groups),
or the start of an IBAN. A text with neither and no ``@`` holds no personal data these detectors find."""
_ID_WEIGHTS = [pow(2, 17 - index, 11) for index in range(17)]
_CN_PROVINCES = {11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46}
_CN_PROVINCES |= {50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83}


@dataclass(frozen=True)
class PiiHit:
    """One piece of personal data found in a text.

    Attributes:
        kind: One of ``PLACEHOLDERS``' keys ("email", "phone", "id_card", "payment_card", "iban").
        span_text: The text as it appears.
        start: Offset of the first character.
        end: Offset just past the last character.
    """

    kind: str
    span_text: str
    start: int = 0
    end: int = 0

    @property
    def label(self) -> str:
        """Name the kind in plain English, for reasons shown to people and LLMs."""
        return LABELS.get(self.kind, self.kind)


def luhn_valid(digits: str) -> bool:
    """Return whether a digit string passes the Luhn checksum (payment cards)."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def card_number_valid(digits: str) -> bool:
    """Return whether a digit string looks like a payment card: a network's prefix and length, and Luhn."""
    in_network = any(
        low <= digits[: len(low)] <= high and len(digits) in lengths for low, high, lengths in _CARD_RANGES
    )
    return in_network and luhn_valid(digits)


def resident_id_valid(number: str) -> bool:
    """Return whether an 18-character Chinese resident ID has a real province, birth date and checksum."""
    if len(number) != 18 or not number[:17].isdigit():
        return False
    if int(number[:2]) not in _CN_PROVINCES:
        return False
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return False
    if born.year < 1900 or born > date.today():
        return False
    check = (12 - sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS, strict=True)) % 11) % 11
    return number[17].upper() == ("X" if check == 10 else str(check))


def iban_valid(candidate: str) -> bool:
    """Return whether a candidate IBAN (spaces allowed) passes the ISO 7064 mod 97-10 check."""
    compact = candidate.replace(" ", "")
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    return int("".join(str(int(char, 36)) for char in rearranged)) % 97 == 1


def _regex_hits(text: str) -> list[PiiHit]:
    hits = [PiiHit("email", m.group(), m.start(), m.end()) for m in _EMAIL.finditer(text)]
    hits += [
        PiiHit("id_card", m.group(), m.start(), m.end())
        for m in _ID_CARD.finditer(text)
        if resident_id_valid(m.group())
    ]
    for match in _CARD.finditer(text):
        digits = re.sub(r"[ -]", "", match.group())
        if card_number_valid(digits):
            hits.append(PiiHit("payment_card", match.group(), match.start(), match.end()))
    hits += [PiiHit("iban", m.group(), m.start(), m.end()) for m in _IBAN.finditer(text) if iban_valid(m.group())]
    return hits


def _is_personal_phone(raw: str, number: phonenumbers.PhoneNumber) -> bool:
    if phonenumbers.number_type(number) not in _PERSONAL_PHONE_TYPES:
        return False
    if not raw.isdigit():
        return True
    is_cn_mobile = re.fullmatch(r"1[3-9]\d{9}", raw) is not None
    return is_cn_mobile or raw.startswith("0")


def _phone_hits(text: str, regions: tuple[str, ...]) -> list[PiiHit]:
    hits: list[PiiHit] = []
    for region in regions:
        for match in PhoneNumberMatcher(text, region, leniency=Leniency.VALID):
            if _is_personal_phone(match.raw_string, match.number):
                hits.append(PiiHit("phone", match.raw_string, match.start, match.end))
    return hits


def find_pii(text: str, regions: tuple[str, ...] = DEFAULT_REGIONS) -> list[PiiHit]:
    """Find personal data in a text, in order of position, without overlaps.

    Args:
        text: Any text.
        regions: Numbering plans (ISO country codes) for phone numbers written without ``+``.

    Returns:
        The hits; where two overlap, the earlier-found kind wins (ID, card, IBAN before phone).
    """
    if "@" not in text and not _MAYBE_NUMBER.search(text):  # the fast path of most texts
        return []
    return without_overlaps(_regex_hits(text) + _phone_hits(text, regions))


def without_overlaps(hits: list[PiiHit]) -> list[PiiHit]:
    """Return the hits in order of position, dropping any that overlaps an earlier one in the list."""
    kept: list[PiiHit] = []
    for hit in hits:
        if all(hit.end <= other.start or hit.start >= other.end for other in kept):
            kept.append(hit)
    return sorted(kept, key=lambda hit: hit.start)


def redact_hits(text: str, hits: list[PiiHit]) -> str:
    """Replace the given (non-overlapping, ordered) hits with their placeholders."""
    pieces: list[str] = []
    cursor = 0
    for hit in hits:
        pieces += [text[cursor : hit.start], PLACEHOLDERS[hit.kind]]
        cursor = hit.end
    pieces.append(text[cursor:])
    return "".join(pieces)


def redact(text: str, regions: tuple[str, ...] = DEFAULT_REGIONS) -> str:
    """Replace every piece of personal data with a placeholder such as ``[PHONE]``."""
    return redact_hits(text, find_pii(text, regions))


def mask(span_text: str) -> str:
    """Hide the middle of a piece of personal data, keeping enough to locate it (``138*******78``)."""
    keep = 3 if len(span_text) >= 10 else 1
    if len(span_text) <= 2 * keep:
        return "*" * len(span_text)
    return span_text[:keep] + "*" * (len(span_text) - 2 * keep) + span_text[-keep:]
