"""Clean one version into a new one: the chain over the store's batches, through the atomic writer.

``clean_version(store, "bank-logs@1", into="bank-logs", chain=...)`` reads the source version in
Arrow batches, runs the chain (``graph.cleaning.chain``) and writes the surviving rows as a new
version whose manifest names the chain and its parameters (``operation: clean``, ``parents``
the source). Every row carries its lineage: ``origin: cleaned``, ``operator: clean``, the
parent's id and version, and in ``params.changed_by`` the operators that changed it (a changed
row keeps its id, so a diff shows it as changed). The version folder also holds
``dropped.jsonl`` (per dropped row: id, operator, reason code and, for duplicates, the kept row it
repeats: the clusters of the dedup operators) and ``clean-report.json``.

The source is never touched. The writer publishes the version in one rename at the end, so a
crash (even SIGKILL) leaves no half version: the temporary folder is swept by the next writer,
and a rerun starts clean. A rerun of a finished cleaning (same source content, same chain) finds
it by its idempotency key and returns it instead of writing a copy.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import pyarrow as pa

from graph.cleaning.base import Operator
from graph.cleaning.chain import ChainRunner, CleanedBatch
from graph.cleaning.registry import ChainSpec
from graph.cleaning.report import CleanReport
from graph.datasets.manifest import Manifest
from graph.datasets.rows import LINEAGE_TYPE
from graph.datasets.store import DatasetStore

OPERATION = "clean"
DROPPED_FILE = "dropped.jsonl"
REPORT_FILE = "clean-report.json"
BATCH_ROWS = 5_000
Progress = Callable[[CleanReport], None]


@dataclass
class CleanResult:
    """What a cleaning made: the new version (or the earlier identical one) and the report."""

    manifest: Manifest
    report: CleanReport
    reused: bool = False


def chain_key(source: Manifest, chain: ChainSpec) -> str:
    """Return the idempotency key of cleaning this source content with this chain."""
    text = json.dumps([source.ref, source.content_hash, chain.model_dump(mode="json")], sort_keys=True)
    return f"clean:{hashlib.sha256(text.encode()).hexdigest()[:24]}"


def stamp_lineage(table: pa.Table, changed_by: list[list[str]], parent: str) -> pa.Table:
    """Return the rows with their lineage saying they were cleaned from ``parent`` (other fields kept)."""
    lineage = table.column("lineage").combine_chunks()
    rows = table.num_rows
    stamped = {
        "origin": pa.array(np.full(rows, "cleaned", dtype=object), pa.string()),
        "operator": pa.array(np.full(rows, OPERATION, dtype=object), pa.string()),
        "params": pa.array([json.dumps({"changed_by": names}) for names in changed_by], pa.string()),
        "parent_id": table.column("id").combine_chunks().cast(pa.string()),
        "parent_version": pa.array(np.full(rows, parent, dtype=object), pa.string()),
    }
    fields = [stamped.get(field.name, lineage.field(field.name)) for field in LINEAGE_TYPE]
    new = pa.StructArray.from_arrays(fields, fields=list(LINEAGE_TYPE))
    return table.set_column(table.schema.get_field_index("lineage"), "lineage", new)


class _DropLog:
    """Every dropped row, as one JSON line, and the counts per ``operator:code``."""

    def __init__(self, handle: IO[str]) -> None:
        self.handle = handle
        self.counts: Counter[str] = Counter()

    def __call__(self, sample_id: str, operator: str, code: str, duplicate_of: str | None) -> None:
        record: dict[str, Any] = {"id": sample_id, "operator": operator, "code": code}
        if duplicate_of is not None:
            record["duplicate_of"] = duplicate_of
        self.handle.write(json.dumps(record, ensure_ascii=False) + "\n")
        self.counts[f"{operator}:{code}"] += 1


async def clean_version(
    store: DatasetStore,
    source_ref: str,
    into: str,
    chain: ChainSpec,
    operators: list[Operator],
    *,
    workers: int = 2,
    batch_rows: int = BATCH_ROWS,
    key: str | None = None,
    tag: str | None = None,
    on_progress: Progress | None = None,
) -> CleanResult:
    """Run the chain over a version and publish the surviving rows as a new version of ``into``.

    Args:
        store: The version store.
        source_ref: The version to clean (``name``, ``name@3``, ``name@v1.1``).
        into: The data set that gets the new version (the source's own name, or another).
        chain: The chain as given (the manifest records it).
        operators: The chain's operators, built (``registry.build_operators``).
        workers: Worker processes for the rule operators (0: all in this process).
        batch_rows: Rows per batch (memory is a few batches in flight).
        key: The idempotency key (default: from the source's content and the chain).
        tag: A tag for the new version.
        on_progress: Called with the report after every batch.

    Raises:
        graph.datasets.errors.DatasetError: The source does not exist, the name or tag is invalid.
    """
    source = store.resolve(source_ref)
    key = key or chain_key(source, chain)
    earlier = store.find_key(into, key)
    if earlier is not None:
        report_path = store.folder(earlier) / REPORT_FILE
        report = CleanReport.model_validate_json(report_path.read_text(encoding="utf-8"))
        return CleanResult(earlier, report, reused=True)
    params = {"chain": chain.model_dump(mode="json")["ops"], "dropped_file": DROPPED_FILE, "report_file": REPORT_FILE}
    report = CleanReport(source=source.ref, target=into)
    with store.new_version(into, operation=OPERATION, params=params, parents=[source], key=key, tag=tag) as writer:
        with (writer.folder / DROPPED_FILE).open("w", encoding="utf-8") as handle:
            dropped = _DropLog(handle)

            def write(cleaned: CleanedBatch) -> None:
                writer.add_batch(stamp_lineage(cleaned.table, cleaned.changed_by, source.ref))
                if on_progress is not None:
                    on_progress(report)

            runner = ChainRunner(operators, workers=workers, report=report, on_drop=dropped)
            await runner.run(store.iter_batches(source, batch_rows), write)
            handle.flush()
            os.fsync(handle.fileno())
        for reason, count in sorted(dropped.counts.items()):
            writer.drop(reason, count)
        _write_durably(writer.folder / REPORT_FILE, report.model_dump_json(indent=2) + "\n")
    return CleanResult(writer.manifest, report)


def _write_durably(path: Path, text: str) -> None:
    with path.open("w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
