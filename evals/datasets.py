"""Load human-labelled judge evaluation sets from CSV or JSONL with a column mapping.

Two kinds of sets:

- *pointwise*: one response per row, a human score (one ``score`` column, or several annotator
  columns whose median becomes the label) on a declared scale such as ``0-2`` or ``1-5``;
- *pairwise*: two responses per row and the human preference ``a``, ``b`` or ``tie``.

Every error names the missing or bad column and lists the columns the file has. A UTF-8
byte-order mark is stripped wherever it appears (the judge-dev ZH file carries one at the start
of its first *data* cell, so ``encoding="utf-8-sig"`` alone does not remove it).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

from graph.datasets.errors import SourceError
from graph.datasets.readers import open_file

BOM = "\ufeff"
Preference = Literal["a", "b", "tie"]
PREFERENCE_ALIASES: dict[str, Preference] = {
    "a": "a",
    "b": "b",
    "tie": "tie",
    "equal": "tie",
    "same": "tie",
    "=": "tie",
}
_SCALE = re.compile(r"^\s*(-?\d+)\s*-\s*(-?\d+)\s*$")


class DatasetError(ValueError):
    """A labelled set cannot be read or does not match the column mapping."""


@dataclass(frozen=True)
class Scale:
    """An integer rating scale, inclusive on both ends."""

    low: int
    high: int

    @classmethod
    def parse(cls, text: str) -> Scale:
        """Parse ``"0-2"`` or ``"1-5"`` into a scale."""
        match = _SCALE.match(text)
        if not match or int(match.group(1)) >= int(match.group(2)):
            raise DatasetError(f"bad scale {text!r}: write it as LOW-HIGH, e.g. 0-2 or 1-5")
        return cls(int(match.group(1)), int(match.group(2)))

    @property
    def levels(self) -> list[int]:
        """Return every level of the scale, low to high."""
        return list(range(self.low, self.high + 1))

    def __str__(self) -> str:
        return f"{self.low}-{self.high}"


def item_key(text: str, context: str = "") -> str:
    """Return the cache identity of a response: a hash of its text and context."""
    return hashlib.sha256(f"{context}\x1f{text}".encode()).hexdigest()[:20]


@dataclass(frozen=True)
class LabelledItem:
    """One response with its human label (and the individual annotator ratings, if any)."""

    row: int
    text: str
    context: str
    label: float
    annotators: tuple[float, ...] = ()

    @property
    def key(self) -> str:
        """Return the cache identity of this response."""
        return item_key(self.text, self.context)


@dataclass(frozen=True)
class PairwiseItem:
    """Two responses to the same context and which one the human preferred."""

    row: int
    text_a: str
    text_b: str
    context: str
    preference: Preference


@dataclass
class LabelledSet:
    """A pointwise set: items, their scale and where they came from."""

    name: str
    scale: Scale
    items: list[LabelledItem]
    annotator_columns: list[str] = field(default_factory=list)


@dataclass
class PairwiseSet:
    """A pairwise set: items and where they came from."""

    name: str
    items: list[PairwiseItem]


def read_rows(path: Path) -> list[dict[str, str]]:
    """Read a CSV, TSV, JSON Lines, JSON or Parquet file into string-valued rows, BOMs stripped.

    The files are read by the data-set readers (``graph.datasets.readers``: encoding sniffed,
    byte-order marks handled), so the eval harness accepts what ``dialogforge datasets import`` does.
    """
    if not path.is_file():
        raise DatasetError(f"data file not found: {path}")
    rows: list[dict[str, object]] = []
    try:
        for batch in open_file(path, str(path)).batches():
            if batch.problems:
                raise DatasetError(str(batch.problems[0]))
            rows.extend(batch.all_records())
    except SourceError as exc:
        raise DatasetError(str(exc)) from None
    return [
        {str(k).strip(BOM): "" if v is None else str(v).replace(BOM, "") for k, v in row.items() if k} for row in rows
    ]


def require_columns(rows: list[dict[str, str]], columns: list[str], path: Path) -> None:
    """Fail with the available columns when a mapped column is absent."""
    available = list(rows[0]) if rows else []
    missing = [column for column in columns if column not in available]
    if missing:
        raise DatasetError(
            f"{path}: column(s) {', '.join(repr(c) for c in missing)} not found; "
            f"available columns: {', '.join(available) or '(file is empty)'}"
        )


def _number(value: str, column: str, row: int, path: Path) -> float:
    try:
        return float(value)
    except ValueError:
        raise DatasetError(f"{path}: row {row}, column {column!r}: {value!r} is not a number") from None


def load_labelled(
    path: Path,
    *,
    text: str = "response",
    context: str | None = None,
    score: str | None = None,
    annotators: list[str] | None = None,
    scale: str = "0-2",
) -> LabelledSet:
    """Load a pointwise set; the label is ``score`` or, without it, the annotators' median.

    Args:
        path: A .csv, .tsv or .jsonl file.
        text: Column with the response to judge.
        context: Optional column with the user message the response answers.
        score: Column with the human label.
        annotators: Columns with individual ratings (for the human ceiling).
        scale: The human scale, ``LOW-HIGH``.

    Raises:
        DatasetError: a column is missing, a value is not a number or is off the scale.
    """
    annotators = annotators or []
    if score is None and not annotators:
        raise DatasetError("give a score column (--score) or annotator columns (--annotators a,b,c)")
    parsed_scale = Scale.parse(scale)
    rows = read_rows(path)
    if not rows:
        raise DatasetError(f"{path}: no rows")
    require_columns(rows, [text, *([context] if context else []), *([score] if score else []), *annotators], path)
    items = []
    for number, row in enumerate(rows, start=1):
        ratings = tuple(_number(row[column], column, number, path) for column in annotators)
        label = _number(row[score], score, number, path) if score else float(np.median(ratings))
        for value in (label, *ratings):
            if not parsed_scale.low <= value <= parsed_scale.high:
                raise DatasetError(f"{path}: row {number}: rating {value} is outside the scale {parsed_scale}")
        body = row[text].strip()
        if body:
            items.append(LabelledItem(number, body, row[context].strip() if context else "", label, ratings))
    return LabelledSet(path.stem, parsed_scale, items, list(annotators))


def load_pairwise(
    path: Path,
    *,
    text_a: str = "response_a",
    text_b: str = "response_b",
    preference: str = "preference",
    context: str | None = None,
) -> PairwiseSet:
    """Load a pairwise set; preferences are ``a``, ``b`` or ``tie`` (case-insensitive).

    Raises:
        DatasetError: a column is missing or a preference is not a, b or tie.
    """
    rows = read_rows(path)
    if not rows:
        raise DatasetError(f"{path}: no rows")
    require_columns(rows, [text_a, text_b, preference, *([context] if context else [])], path)
    items = []
    for number, row in enumerate(rows, start=1):
        choice = PREFERENCE_ALIASES.get(row[preference].strip().lower())
        if choice is None:
            raise DatasetError(
                f"{path}: row {number}, column {preference!r}: {row[preference]!r} is not one of a, b, tie"
            )
        ctx = row[context].strip() if context else ""
        items.append(PairwiseItem(number, row[text_a].strip(), row[text_b].strip(), ctx, choice))
    return PairwiseSet(path.stem, items)


def stratified_indices(labels: list[str], limit: int | None, seed: int = 0) -> list[int]:
    """Pick ``limit`` row indices with the label proportions kept, in sampling order.

    Systematic stratified sampling: each label's rows are shuffled (seeded) and the i-th of a
    group of size m gets the rank ``(i + u) / m`` with one seeded offset ``u`` per group; the
    ``limit`` lowest ranks win. Each label gets its share within one row, and the samples are
    nested: ``--limit 40`` is a subset of ``--limit 80`` with the same seed, so a bigger run
    reuses every judgement a smaller one cached. The indices come lowest rank first, so a run
    judging items in this order and stopped early has judged a smaller stratified sample.
    """
    count = len(labels)
    if limit is None or limit >= count:
        return list(range(count))
    if limit <= 0:
        raise DatasetError(f"--limit must be positive, got {limit}")
    rng = np.random.default_rng(seed)
    ranks = np.empty(count)
    for label in sorted(set(labels)):
        members = rng.permutation([index for index, value in enumerate(labels) if value == label])
        ranks[members] = (np.arange(len(members)) + rng.random()) / len(members)
    order = np.lexsort((np.arange(count), ranks))
    return [int(index) for index in order[:limit]]


def limit_labelled(dataset: LabelledSet, limit: int | None, seed: int = 0) -> LabelledSet:
    """Return a stratified (by label) subset of a pointwise set."""
    picked = stratified_indices([f"{item.label:g}" for item in dataset.items], limit, seed)
    items = [dataset.items[index] for index in picked]
    return LabelledSet(dataset.name, dataset.scale, items, dataset.annotator_columns)


def limit_pairwise(dataset: PairwiseSet, limit: int | None, seed: int = 0) -> PairwiseSet:
    """Return a stratified (by preference) subset of a pairwise set."""
    picked = stratified_indices([item.preference for item in dataset.items], limit, seed)
    return PairwiseSet(dataset.name, [dataset.items[index] for index in picked])
