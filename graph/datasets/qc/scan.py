"""One streaming pass over a version's Arrow batches: the cheap figures of every row, and a row sample.

Counts, turn counts, characters per turn, judge scores, reject reasons, check failures and
duplicate groups are computed over *every* row with Arrow compute (no ``Sample`` object per row);
the text-heavy figures (terms, the topic map, distinct-n) read the rows of a seeded random sample
collected on the way (``SampledRow``).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from graph.datasets.manifest import Manifest
from graph.datasets.store import DatasetStore
from graph.progress import reason_code

BATCH_ROWS = 20_000
MAX_GROUP_IDS = 5
_COLUMNS = ("id", "status", "turns", "reject_reason", "content_hash", "lineage", "attempts")
_HAS_SCORES = '"scores": {"'
_NOT_WORD = r"[\s\p{P}\p{S}_]+"


@dataclass(frozen=True)
class SampledRow:
    """One row of the sample: enough text and lineage for terms, the map and the review queue."""

    id: str
    user: str
    assistant: str
    topic: str
    style: str
    origin: str


@dataclass
class Groups:
    """Rows grouped by a key (content hash, normalised prompt): counts and the first few ids."""

    counts: Counter[str] = field(default_factory=Counter)
    ids: dict[str, list[str]] = field(default_factory=dict)
    examples: dict[str, str] = field(default_factory=dict)

    def add(self, keys: list[str | None], ids: list[str], texts: list[str | None]) -> None:
        """Count each row under its key (rows without a key are skipped)."""
        for key, row_id, text in zip(keys, ids, texts, strict=True):
            if not key:
                continue
            self.counts[key] += 1
            kept = self.ids.setdefault(key, [])
            if len(kept) < MAX_GROUP_IDS:
                kept.append(row_id)
            self.examples.setdefault(key, text or "")

    def repeated(self) -> list[tuple[str, int]]:
        """Return the keys seen more than once, most frequent first."""
        return sorted(((k, n) for k, n in self.counts.items() if n > 1), key=lambda item: (-item[1], item[0]))


@dataclass
class VersionScan:
    """What one pass over a version found."""

    manifest: Manifest
    rows: int = 0
    turn_counts: list[np.ndarray] = field(default_factory=list)
    chars: dict[str, list[np.ndarray]] = field(default_factory=dict)
    origin: Counter[str] = field(default_factory=Counter)
    style: Counter[str] = field(default_factory=Counter)
    status: Counter[str] = field(default_factory=Counter)
    topic: Counter[str] = field(default_factory=Counter)
    scores: dict[str, Counter[int]] = field(default_factory=dict)
    scored_rows: int = 0
    judge_prompts: Counter[str] = field(default_factory=Counter)
    reject_reasons: Counter[str] = field(default_factory=Counter)
    check_failures: Counter[str] = field(default_factory=Counter)
    exact: Groups = field(default_factory=Groups)
    prompts: Groups = field(default_factory=Groups)
    sample: list[SampledRow] = field(default_factory=list)

    def turn_count_array(self) -> np.ndarray:
        """Turns per row, every row."""
        return np.concatenate(self.turn_counts) if self.turn_counts else np.empty(0, np.int64)

    def char_array(self, role: str) -> np.ndarray:
        """Characters per turn of one role, every turn."""
        parts = self.chars.get(role, [])
        return np.concatenate(parts) if parts else np.empty(0, np.int64)


def _counts(counter: Counter[str], values: pa.Array) -> None:
    for item in pc.value_counts(pc.fill_null(values, "")).to_pylist():
        counter[item["values"]] += item["counts"]


def _first_user_key(turns: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Return each row's opening turn and its normalised form (lowercase, no spaces or punctuation)."""
    opening = pc.struct_field(pc.list_element(turns, 0), "content")
    normalised = pc.replace_substring_regex(pc.utf8_lower(opening), _NOT_WORD, "")
    return opening, normalised


def _judge(scan: VersionScan, attempts: pa.Array) -> None:
    """Count the last verdict's scores of rows that have one (only those rows' JSON is parsed)."""
    mask = pc.fill_null(pc.match_substring(attempts, _HAS_SCORES), False)
    for text in pc.filter(attempts, mask).to_pylist():
        verdict = None
        for attempt in reversed(json.loads(text)):
            if attempt.get("verdict") is not None:
                verdict = attempt["verdict"]
                break
        if not verdict or not verdict.get("scores"):
            continue
        scan.scored_rows += 1
        scan.judge_prompts[verdict.get("prompt_name") or "(unnamed)"] += 1
        for criterion, score in verdict["scores"].items():
            scan.scores.setdefault(criterion, Counter())[int(score)] += 1


def _check_failures(scan: VersionScan, attempts: pa.Array) -> None:
    mask = pc.fill_null(pc.match_substring(attempts, '"check_failures": ["'), False)
    for text in pc.filter(attempts, mask).to_pylist():
        for attempt in json.loads(text):
            for failure in attempt.get("check_failures") or []:
                scan.check_failures[reason_code(failure)] += 1


def _collect_sample(scan: VersionScan, batch: pa.RecordBatch, offset: int, wanted: np.ndarray) -> None:
    start, stop = np.searchsorted(wanted, [offset, offset + batch.num_rows])
    if start == stop:
        return
    picked = batch.take(pa.array(wanted[start:stop] - offset))
    lineage = picked.column("lineage")
    topics, styles, origins = (lineage.field(key).to_pylist() for key in ("topic", "style", "origin"))
    for index, (row_id, turns) in enumerate(
        zip(picked.column("id").to_pylist(), picked.column("turns").to_pylist(), strict=True)
    ):
        user = "\n".join(t["content"] or "" for t in turns or [] if t["role"] == "user")
        assistant = "\n".join(t["content"] or "" for t in turns or [] if t["role"] == "assistant")
        scan.sample.append(
            SampledRow(row_id, user, assistant, topics[index] or "", styles[index] or "", origins[index] or "")
        )


def sample_positions(rows: int, size: int, seed: int = 0) -> np.ndarray:
    """Return ``size`` distinct row positions out of ``rows``, in the order they were drawn (seeded).

    A prefix of a longer draw is a shorter draw, so the topic map's rows are a subset of the terms'.
    """
    return np.random.default_rng(seed).permutation(rows)[: max(0, min(size, rows))]


def scan_version(
    store: DatasetStore, manifest: Manifest, sample_size: int, seed: int = 0, batch_rows: int = BATCH_ROWS
) -> VersionScan:
    """Read a version once and return its figures' raw material and a sample of ``sample_size`` rows.

    The sample keeps the draw order (see :func:`sample_positions`), so its first ``k`` rows are a
    random sample of ``k`` rows for any ``k``.
    """
    scan = VersionScan(manifest)
    order = sample_positions(manifest.rows, sample_size, seed)
    wanted = np.sort(order)
    offset = 0
    for batch in store.iter_batches(manifest, batch_rows, columns=_COLUMNS):
        turns, lineage = batch.column("turns"), batch.column("lineage")
        scan.turn_counts.append(np.asarray(pc.fill_null(pc.list_value_length(turns), 0)))
        flat = turns.flatten()
        roles = np.asarray(pc.fill_null(flat.field("role"), ""), dtype=object)
        lengths = np.asarray(pc.fill_null(pc.utf8_length(flat.field("content")), 0))
        for role in ("user", "assistant"):
            scan.chars.setdefault(role, []).append(lengths[roles == role])
        for counter, values in (
            (scan.origin, lineage.field("origin")),
            (scan.style, lineage.field("style")),
            (scan.topic, lineage.field("topic")),
            (scan.status, batch.column("status")),
        ):
            _counts(counter, values)
        reasons = pc.drop_null(batch.column("reject_reason")).to_pylist()
        scan.reject_reasons.update(reason_code(reason) for reason in reasons if reason)
        attempts = batch.column("attempts")
        _judge(scan, attempts)
        _check_failures(scan, attempts)
        ids = batch.column("id").to_pylist()
        opening, normalised = _first_user_key(turns)
        opening_text = opening.to_pylist()
        scan.exact.add(batch.column("content_hash").to_pylist(), ids, opening_text)
        scan.prompts.add(normalised.to_pylist(), ids, opening_text)
        _collect_sample(scan, batch, offset, wanted)
        offset += batch.num_rows
    scan.rows = offset
    position = {int(row): index for index, row in enumerate(order)}
    drawn = np.sort(order)
    scan.sample = [row for _, row in sorted(zip((position[int(p)] for p in drawn), scan.sample, strict=True))]
    return scan
