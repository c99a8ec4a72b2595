"""Names and addresses (agents.pii_names) on the labelled set of benchmarks/pii_names_cases.py."""

from __future__ import annotations

from agents.pii import redact_hits, without_overlaps
from agents.pii_names import find_names_and_addresses
from benchmarks.pii_names_cases import CASES
from benchmarks.pii_names_recall import measure


def test_recall_and_precision_on_the_labelled_set_stay_where_they_were_measured() -> None:
    figures = measure(CASES)
    floors = {"zh:name": (0.9, 0.8), "zh:address": (0.95, 0.95), "en:name": (0.6, 0.95), "en:address": (0.95, 0.95)}
    for key, (recall, precision) in floors.items():
        assert figures[key]["recall"] >= recall and figures[key]["precision"] >= precision, (key, figures[key])


def test_names_and_addresses_are_redacted_with_placeholders() -> None:
    text = "收件人陈静，地址是北京市朝阳区建国路88号。"
    assert redact_hits(text, without_overlaps(find_names_and_addresses(text))) == "收件人[NAME]，地址是[ADDRESS]。"
    english = "My name is John Smith, ship to 221 Baker Street."
    assert redact_hits(english, without_overlaps(find_names_and_addresses(english))) == (
        "My name is [NAME], ship to [ADDRESS]."
    )
    assert find_names_and_addresses("谢谢，北京路那家火锅店还开着吗？") == []
