"""What a cleaning run reports: rows in and out, and per operator what it dropped, changed and flagged.

Each operator's rows are counted by reason code with three redacted examples per code, and the
report has length statistics before and after.

Examples never show personal data: their text goes through ``agents.pii.redact`` first (the
dropped rows of the ``pii`` operator included), and is cut to a few hundred characters.
"""

from __future__ import annotations

import difflib
from collections import Counter
from typing import Any

import numpy as np
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
    """Streaming length statistics; quantiles from a uniform sample of at most 10,000 rows (bottom-k keys)."""

    def __init__(self, seed: int = 0) -> None:
        """Start empty."""
        self.rows = self.chars = self.turns = self.longest = 0
        self._keys = np.empty(0, dtype=np.float64)
        self._sizes = np.empty(0, dtype=np.int64)
        self._random = np.random.default_rng(seed)

    def add(self, chars: np.ndarray, turns: np.ndarray) -> None:
        """Count a batch of rows: per row its characters and its number of turns."""
        if not len(chars):
            return
        self.rows += len(chars)
        self.chars += int(chars.sum())
        self.turns += int(turns.sum())
        self.longest = max(self.longest, int(chars.max()))
        keys = np.concatenate([self._keys, self._random.random(len(chars))])
        sizes = np.concatenate([self._sizes, chars])
        if len(keys) > _RESERVOIR:
            kept = np.argpartition(keys, _RESERVOIR)[:_RESERVOIR]
            keys, sizes = keys[kept], sizes[kept]
        self._keys, self._sizes = keys, sizes

    def stats(self) -> LengthStats:
        """Return the statistics so far."""
        if not self.rows:
            return LengthStats()
        ordered = np.sort(self._sizes)
        return LengthStats(
            rows=self.rows,
            mean_chars=round(self.chars / self.rows, 1),
            p50_chars=int(ordered[len(ordered) // 2]),
            p90_chars=int(ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]),
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
    if not lines:  # only personal data changed, and redaction hides it on both sides: show the result
        return Example(id=sample_id, text=_cut("\n".join(new)))
    return Example(id=sample_id, diff=_cut("\n".join(lines)))


def render_markdown(report: CleanReport) -> str:
    """Render the report for people: totals, each operator's drops and changes with examples, lengths."""
    kept = f"{report.rows_out} of {report.rows_in}"
    lines = [
        f"# Cleaning of {report.source} into {report.target}",
        "",
        f"Rows kept: **{kept}** in {report.seconds} s.",
        "",
    ]
    lines += ["| operator | rows in | dropped | changed | flagged |", "|---|---|---|---|---|"]
    for op in report.operators:
        cells = [_codes(op.dropped), _codes(op.changed), _codes(op.flagged)]
        lines.append(f"| {op.name} | {op.rows_in} | " + " | ".join(cells) + " |")
    lines += ["", "| length | before | after |", "|---|---|---|"]
    for field in ("rows", "mean_chars", "p50_chars", "p90_chars", "max_chars", "mean_turns"):
        lines.append(f"| {field} | {getattr(report.before, field)} | {getattr(report.after, field)} |")
    for op in report.operators:
        if not op.examples:
            continue
        lines += ["", f"## {op.name}", "", f"Parameters: `{op.params}`"]
        for key, examples in op.examples.items():
            lines += ["", f"### {key} (personal data redacted)"]
            for example in examples:
                why = f" ({example.detail})" if example.detail else ""
                of = f", duplicate of `{example.duplicate_of}`" if example.duplicate_of else ""
                body = example.diff or example.text
                lines += ["", f"`{example.id}`{why}{of}", "", "~~~~", body, "~~~~"]
    return "\n".join(lines) + "\n"


def _codes(counts: dict[str, int]) -> str:
    return ", ".join(f"{code} {count}" for code, count in sorted(counts.items(), key=lambda kv: -kv[1])) or "-"
