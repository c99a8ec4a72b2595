"""Diff two versions by sample id: added, removed, changed (content or status), with counts and examples.

Only the small columns are read (``id``, ``status``, ``content_hash``, the lineage origin and
operator) and joined by Arrow, so a million-row diff needs no Python object per row; the few
examples are then read in full. A version whose content hashes are of an older scheme than the
other's (``Manifest.content_hash_scheme``) has them computed again from its text.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, Field

from graph.datasets.manifest import Manifest
from graph.datasets.rows import HASH_SCHEME, content_hashes
from graph.datasets.store import DatasetStore, RefLike

KINDS = ("added", "removed", "changed")
_COLUMNS = ["id", "status", "content_hash", "lineage"]
_TEXT = ["system", "turns"]


def _rehashed(batch: pa.RecordBatch) -> pa.RecordBatch:
    """Return the key columns with the content hash of the current scheme, from the batch's text."""
    hashes = content_hashes(batch["system"], batch["turns"])
    return pa.RecordBatch.from_arrays([batch["id"], batch["status"], hashes, batch["lineage"]], names=_COLUMNS)


class SampleChange(BaseModel):
    """One example of a difference: the sample before and after (absent on the side it is not on)."""

    id: str
    operation: str
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


class VersionDiff(BaseModel):
    """What changed from ``base`` to ``other``."""

    base: str
    other: str
    base_rows: int
    other_rows: int
    added: int
    removed: int
    changed: int
    unchanged: int
    by_operation: dict[str, dict[str, int]] = Field(
        default_factory=dict, description="For each kind, counts by the lineage operation (origin or origin:operator)."
    )
    examples: dict[str, list[SampleChange]] = Field(default_factory=dict)


def _keys(store: DatasetStore, manifest: Manifest, rehash: bool) -> pa.Table:
    if rehash:
        batches = [_rehashed(batch) for batch in store.iter_batches(manifest, 65_536, _COLUMNS + _TEXT)]
    else:
        batches = list(store.iter_batches(manifest, 65_536, _COLUMNS))
    table = (
        pa.Table.from_batches(batches) if batches else pa.table({c: pa.array([], pa.string()) for c in _COLUMNS[:3]})
    )
    if "lineage" not in table.column_names:
        return table.append_column("operation", pa.array([], pa.string()))
    lineage = table["lineage"].combine_chunks()
    origin, operator = pc.fill_null(lineage.field("origin"), ""), lineage.field("operator")
    operation = pc.if_else(
        pc.is_null(operator), origin, pc.binary_join_element_wise(origin, pc.fill_null(operator, ""), ":")
    )
    return table.drop_columns(["lineage"]).append_column("operation", operation)


def diff_versions(store: DatasetStore, base: RefLike, other: RefLike, examples: int = 3) -> VersionDiff:
    """Compare two versions (of one data set or of two) by sample id.

    Raises:
        DatasetError: Either version does not exist.
    """
    left_manifest, right_manifest = store.resolve(base), store.resolve(other)
    schemes = {left_manifest.content_hash_scheme, right_manifest.content_hash_scheme}
    left = _keys(store, left_manifest, len(schemes) > 1 and left_manifest.content_hash_scheme != HASH_SCHEME)
    right = _keys(store, right_manifest, len(schemes) > 1 and right_manifest.content_hash_scheme != HASH_SCHEME)
    joined = left.join(
        right, keys="id", join_type="full outer", left_suffix="_a", right_suffix="_b", coalesce_keys=True
    )
    only_b = pc.is_null(joined["content_hash_a"])
    only_a = pc.is_null(joined["content_hash_b"])
    both = pc.and_(pc.invert(only_a), pc.invert(only_b))
    differs = pc.or_(
        pc.not_equal(joined["content_hash_a"], joined["content_hash_b"]),
        pc.not_equal(pc.fill_null(joined["status_a"], ""), pc.fill_null(joined["status_b"], "")),
    )
    masks = {"added": only_b, "removed": only_a, "changed": pc.and_(both, pc.fill_null(differs, False))}
    counts = {kind: int(pc.sum(mask).as_py() or 0) for kind, mask in masks.items()}
    by_operation: dict[str, dict[str, int]] = {}
    picked: dict[str, list[tuple[str, str]]] = {}
    for kind, mask in masks.items():
        rows = joined.filter(mask)
        column = rows["operation_a" if kind == "removed" else "operation_b"]
        by_operation[kind] = {
            item["values"]: item["counts"] for item in pc.value_counts(column).to_pylist() if item["values"] is not None
        }
        ids = rows["id"].to_pylist()[:examples] if examples else []
        picked[kind] = list(zip(ids, column.to_pylist()[: len(ids)], strict=True))
    wanted = {sample_id for items in picked.values() for sample_id, _ in items}
    before, after = _rows(store, left_manifest, wanted), _rows(store, right_manifest, wanted)
    return VersionDiff(
        base=left_manifest.ref, other=right_manifest.ref, base_rows=left_manifest.rows, other_rows=right_manifest.rows,
        unchanged=int(pc.sum(both).as_py() or 0) - counts["changed"], by_operation=by_operation,
        examples={kind: [_change(i, op, before, after) for i, op in items] for kind, items in picked.items()},
        **counts,
    )  # fmt: skip


def _change(sample_id: str, operation: str, before: dict[str, Any], after: dict[str, Any]) -> SampleChange:
    return SampleChange(id=sample_id, operation=operation, before=before.get(sample_id), after=after.get(sample_id))


def _rows(store: DatasetStore, ref: RefLike, ids: set[str]) -> dict[str, dict[str, Any]]:
    if not ids:
        return {}
    found: dict[str, dict[str, Any]] = {}
    wanted = pa.array(sorted(ids), pa.string())
    for batch in store.iter_batches(ref, 65_536, ["id", "status", "system", "turns"]):
        for row in batch.filter(pc.is_in(batch["id"], value_set=wanted)).to_pylist():
            found[row["id"]] = row
    return found
