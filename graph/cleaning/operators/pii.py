"""``pii``: redact personal data with typed placeholders (``[PHONE]``, ``[ID_NUMBER]``...) or drop the row.

The detectors are the ones the generation checks use (``agents.pii``: phones by libphonenumber,
e-mails, Chinese resident IDs with their checksum, card numbers with Luhn and network prefixes,
IBANs with mod 97), plus, when asked, person names and postal addresses (``agents.pii_names``:
jieba's tagger for Chinese, rules for English; about 15,000 characters a second, so off by
default). A dropped row's detail names the kinds found, never the data itself.
"""

from __future__ import annotations

from collections import Counter
from typing import Literal

from pydantic import Field

from agents.pii import DEFAULT_REGIONS, PLACEHOLDERS, PiiHit, find_pii, redact_hits, without_overlaps
from agents.schemas import Sample, Turn
from graph.cleaning.base import KEEP, Change, Decision, Drop, OperatorParams, RowOperator

PiiKind = Literal["email", "phone", "id_card", "payment_card", "iban"]
CHECKSUM_KINDS: tuple[PiiKind, ...] = ("email", "phone", "id_card", "payment_card", "iban")


class PiiParams(OperatorParams):
    """Parameters of ``pii``."""

    mode: Literal["redact", "drop"] = Field(default="redact", description="Replace with placeholders, or drop the row.")
    kinds: list[PiiKind] = Field(
        default_factory=lambda: list(CHECKSUM_KINDS), description="Which checksum/format detectors to use."
    )
    names: bool = Field(default=False, description="Also find person names (slower: jieba for Chinese).")
    addresses: bool = Field(default=False, description="Also find postal addresses (slower).")
    regions: list[str] = Field(
        default_factory=lambda: list(DEFAULT_REGIONS), description="Phone numbering plans for numbers without +."
    )


class Pii(RowOperator):
    """Redact (or drop rows with) phones, e-mails, ID and card numbers, IBANs, optionally names and addresses."""

    name = "pii"
    summary = (
        "Personal data: redact as [PHONE]/[EMAIL]/[ID_NUMBER]/[CARD_NUMBER]/[IBAN] (names, addresses opt-in) or drop."
    )
    Params = PiiParams
    params: PiiParams
    shorthand = "mode"

    def hits(self, text: str) -> list[PiiHit]:
        """Return the personal data found in one text, in order, without overlaps."""
        params = self.params
        found = [hit for hit in find_pii(text, tuple(params.regions)) if hit.kind in params.kinds]
        if params.names or params.addresses:
            from agents.pii_names import find_names_and_addresses

            found += find_names_and_addresses(text, names=params.names, addresses=params.addresses)
            found = without_overlaps(found)
        return found

    def decide(self, sample: Sample) -> Decision:
        """Redact every turn, or drop the row when any turn holds personal data."""
        kinds: Counter[str] = Counter()
        turns: list[Turn] = []
        for turn in sample.turns:
            found = self.hits(turn.content)
            kinds.update(hit.kind for hit in found)
            turns.append(Turn(role=turn.role, content=redact_hits(turn.content, found)) if found else turn)
        if not kinds:
            return KEEP
        named = ", ".join(f"{count} {PLACEHOLDERS[kind]}" for kind, count in sorted(kinds.items()))
        if self.params.mode == "drop":
            return Drop("pii", f"personal data: {named}")
        return Change(turns=turns, what="+".join(sorted(kinds)))
