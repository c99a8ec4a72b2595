"""Recall and precision of the name and address detectors (``agents.pii_names``) on the labelled set.

``python -m benchmarks.pii_names_recall`` prints, per language and kind, the spans expected, found
and missed, recall, precision, and the characters a second. An expected span counts as found when
a hit of its kind overlaps it; a hit that overlaps no expected span of its kind is a false alarm.
"""

from __future__ import annotations

import json
import time
from collections import Counter

from agents.pii_names import find_names_and_addresses
from benchmarks.pii_names_cases import CASES, HELD_OUT, Case


def _overlaps(text: str, span: str, start: int, end: int) -> bool:
    at = text.find(span)
    return at >= 0 and start < at + len(span) and at < end


def measure(cases: list[Case]) -> dict[str, dict[str, float | int | list[str]]]:
    """Return the figures per ``language:kind``."""
    counts: dict[str, Counter[str]] = {}
    missed: dict[str, list[str]] = {}
    false: dict[str, list[str]] = {}
    for language, text, expected in cases:
        hits = find_names_and_addresses(text)
        for kind in ("name", "address"):
            key = f"{language}:{kind}"
            counter = counts.setdefault(key, Counter())
            spans = expected.get(kind, [])
            found = [hit for hit in hits if hit.kind == kind]
            for span in spans:
                counter["expected"] += 1
                if any(_overlaps(text, span, hit.start, hit.end) for hit in found):
                    counter["found"] += 1
                else:
                    missed.setdefault(key, []).append(span)
            for hit in found:
                counter["hits"] += 1
                if any(_overlaps(text, span, hit.start, hit.end) for span in spans):
                    counter["true_hits"] += 1
                else:
                    false.setdefault(key, []).append(hit.span_text)
    figures: dict[str, dict[str, float | int | list[str]]] = {}
    for key, counter in sorted(counts.items()):
        figures[key] = {
            "expected": counter["expected"],
            "recall": round(counter["found"] / counter["expected"], 3) if counter["expected"] else 0.0,
            "precision": round(counter["true_hits"] / counter["hits"], 3) if counter["hits"] else 0.0,
            "missed": missed.get(key, []),
            "false_alarms": false.get(key, []),
        }
    return figures


def main() -> None:
    """Print the figures and the speed."""
    find_names_and_addresses("预热 warm up")
    for label, cases in (("tuning set", CASES), ("held out", HELD_OUT)):
        for key, figure in measure(cases).items():
            print(json.dumps({label: {key: figure}}, ensure_ascii=False))
    texts = [text for _, text, _ in CASES] * 20
    started = time.perf_counter()
    for text in texts:
        find_names_and_addresses(text)
    seconds = time.perf_counter() - started
    print(json.dumps({"chars_per_s": round(sum(map(len, texts)) / seconds)}))


if __name__ == "__main__":
    main()
