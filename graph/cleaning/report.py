"""What a cleaning run reports: rows in and out, and per operator what it dropped, changed and flagged.

Each operator's rows are counted by reason code with three redacted examples per code, and the
report has length statistics before and after.

Examples never show personal data: their text goes through ``agents.pii.redact`` first (the
dropped rows of the ``pii`` operator included), and is cut to a few hundred characters.
"""

from __future__ import annotations

import difflib
import random
from collections import Counter
from typing import Any

from pydantic import BaseModel, Field

from agents.pii import redact
from agents.schemas import Sample, Turn

EXAMPLES_PER_CODE = 3
EXAMPLE_CHARS = 300
_RESERVOIR = 10_000


def dialogue_text(turns: list[Turn]) -> str:
    """Render turns as ``user: ...`` / ``assistant: ...`` lines."""
    return "\n".join(f"{turn.role}: {turn.content}" for turn in turns)


def _cut(text: str) -> str:
    return text if len(text) <= EXAMPLE_CHARS else text[: EXAMPLE_CHARS - 1] + "…"


class Example(BaseModel):
    """One row an operator dropped, changed or flagged, redacted."""

    id: str
    detail: str = ""
    text: str = ""
    diff: str = ""
    duplicate_of: str | None = None


class OperatorReport(BaseModel):
    """What one operator did."""

    name: str
    params: dict[str, Any]
    rows_in: int = 0
    dropped: dict[str, int] = Field(default_factory=dict)
    changed: dict[str, int] = Field(default_factory=dict)
    flagged: dict[str, int] = Field(default_factory=dict)
    examples: dict[str, list[Example]] = Field(default_factory=dict)

    def count(self, bucket: str, code: str, example: Example | None) -> None:
        """Count one row under ``bucket`` (dropped/changed/flagged) and ``code``; keep the first examples."""
        counts: dict[str, int] = getattr(self, bucket)
        counts[code] = counts.get(code, 0) + 1
        key = f"{bucket}:{code}"
        if example is not None and len(self.examples.setdefault(key, [])) < EXAMPLES_PER_CODE:
            self.examples[key].append(example)

    def wants_example(self, bucket: str, code: str) -> bool:
        """Return whether another example of this code would be kept."""
        return len(self.examples.get(f"{bucket}:{code}", [])) < EXAMPLES_PER_CODE


class LengthStats(BaseModel):
    """Characters per dialogue and turns per dialogue over a set of rows."""

    rows: int = 0
    mean_chars: float = 0.0
    p50_chars: int = 0
    p90_chars: int = 0
    max_chars: int = 0
    mean_turns: float = 0.0


class LengthCounter:
    """Streaming length statistics (quantiles from a bounded reservoir sample)."""

    def __init__(self, seed: int = 0) -> None:
        """Start empty."""
        self.rows = self.chars = self.turns = self.longest = 0
        self.sample: list[int] = []
        self._random = random.Random(seed)

    def add(self, samples: list[Sample]) -> None:
        """Count a batch of rows."""
        for sample in samples:
            size = sum(len(turn.content) for turn in sample.turns)
            self.rows += 1
            self.chars += size
            self.turns += len(sample.turns)
            self.longest = max(self.longest, size)
            if len(self.sample) < _RESERVOIR:
                self.sample.append(size)
            else:
                slot = self._random.randrange(self.rows)
                if slot < _RESERVOIR:
                    self.sample[slot] = size

    def stats(self) -> LengthStats:
        """Return the statistics so far."""
        if not self.rows:
            return LengthStats()
        ordered = sorted(self.sample)
        return LengthStats(
            rows=self.rows,
            mean_chars=round(self.chars / self.rows, 1),
            p50_chars=ordered[len(ordered) // 2],
            p90_chars=ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))],
            max_chars=self.longest,
            mean_turns=round(self.turns / self.rows, 2),
        )


class CleanReport(BaseModel):
    """The whole run."""

    source: str = ""
    target: str = ""
    chain: list[dict[str, Any]] = Field(default_factory=list)
    rows_in: int = 0
    rows_out: int = 0
    operators: list[OperatorReport] = Field(default_factory=list)
    before: LengthStats = Field(default_factory=LengthStats)
    after: LengthStats = Field(default_factory=LengthStats)
    seconds: float = 0.0
    workers: int = 0

    def dropped_by_code(self) -> Counter[str]:
        """Return every drop counted by ``operator:code``."""
        counts: Counter[str] = Counter()
        for op in self.operators:
            for code, count in op.dropped.items():
                counts[f"{op.name}:{code}"] += count
        return counts


def drop_example(sample: Sample, detail: str, duplicate_of: str | None) -> Example:
    """Return a redacted example of a dropped (or flagged) row."""
    return Example(
        id=sample.id, detail=detail, text=_cut(redact(dialogue_text(sample.turns))), duplicate_of=duplicate_of
    )


def change_example(sample_id: str, before: list[Turn], after: list[Turn]) -> Example:
    """Return a redacted example of a changed row: a compact line diff of before and after."""
    old, new = redact(dialogue_text(before)).splitlines(), redact(dialogue_text(after)).splitlines()
    lines = [
        line for line in difflib.unified_diff(old, new, lineterm="", n=0) if not line.startswith(("---", "+++", "@@"))
    ]
    return Example(id=sample_id, diff=_cut("\n".join(lines)))
