"""Diff by sample id: added, removed, changed, counts by operation, examples."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from agents.schemas import Turn
from graph.datasets.diff import diff_versions
from graph.datasets.manifest import LEGACY_HASH_SCHEME
from graph.datasets.rows import HASH_SCHEME, content_hash, content_hashes
from graph.datasets.store import DatasetStore
from tests.graph.datasets.helpers import sample


def test_added_removed_changed_by_operation(tmp_path: Path) -> None:
    store = DatasetStore(tmp_path)
    base = [sample(i) for i in range(5)]
    with store.new_version("d", operation="generate") as writer:
        writer.add(base)
    edited = base[1].model_copy(
        update={"turns": [Turn(role="user", content="改过"), Turn(role="assistant", content="好")]}
    )
    edited.lineage = edited.lineage.model_copy(update={"origin": "cleaned", "operator": "pii", "parent_version": "d@1"})
    rejected = base[2].model_copy(update={"status": "rejected", "reject_reason": "review"})
    with store.new_version("d", operation="clean", parents=["d@1"]) as writer:
        writer.add([base[0], edited, rejected, base[3], sample(9)])
    diff = diff_versions(store, "d@1", "d@2", examples=2)
    assert (diff.added, diff.removed, diff.changed, diff.unchanged) == (1, 1, 2, 2)
    assert diff.by_operation["changed"] == {"cleaned:pii": 1, "generated": 1}
    assert diff.by_operation["removed"] == {"generated": 1} and diff.by_operation["added"] == {"generated": 1}
    changed = {example.id: example for example in diff.examples["changed"]}
    assert (
        changed["gen-1"].before["turns"][0]["content"] == "问题 1"
        and changed["gen-1"].after["turns"][0]["content"] == "改过"
    )
    assert diff.examples["removed"][0].id == "gen-4" and diff.examples["removed"][0].after is None
    same = diff_versions(store, "d@2", "d@2")
    assert (same.added, same.removed, same.changed, same.unchanged) == (0, 0, 0, 5)


def _as_legacy(store: DatasetStore, ref: str) -> None:
    """Rewrite a version as one written before the hash scheme was recorded: BLAKE2b-64 hashes, no scheme."""
    manifest = store.resolve(ref)
    for path in store.files(ref):
        table = pq.read_table(path)
        legacy = [
            _blake2b(row["system"] or "", [(turn["role"], turn["content"]) for turn in row["turns"]])
            for row in table.select(["system", "turns"]).to_pylist()
        ]
        index = table.schema.get_field_index("content_hash")
        pq.write_table(table.set_column(index, table.schema.field(index), pa.array(legacy, pa.string())), path)
    manifest_path = path.parent / "manifest.json"
    raw = json.loads(manifest_path.read_text())
    raw.pop("content_hash_scheme")
    manifest_path.write_text(json.dumps(raw))
    assert store.resolve(manifest.ref).content_hash_scheme == LEGACY_HASH_SCHEME


def _blake2b(system: str, turns: list[tuple[str, str]]) -> str:
    """The content hash of versions written before 2026-12 (BLAKE2b-64 over the same bytes as XXH3)."""
    bodies = [content.encode() for _, content in turns]
    codes = {"user": 1, "assistant": 2}
    header = b"".join(
        bytes([codes.get(role, 0)]) + len(body).to_bytes(4, "little")
        for (role, _), body in zip(turns, bodies, strict=True)
    )
    return hashlib.blake2b(system.encode() + header + b"".join(bodies), digest_size=8).hexdigest()


def test_a_version_of_the_older_hash_scheme_is_compared_by_content_not_by_hash(tmp_path: Path) -> None:
    store = DatasetStore(tmp_path)
    rows = [sample(i) for i in range(6)]
    with store.new_version("d", operation="generate") as writer:
        writer.add(rows)
    _as_legacy(store, "d@1")
    changed = rows[2].model_copy(
        update={"turns": [Turn(role="user", content="另一个"), Turn(role="assistant", content="好")]}
    )
    with store.new_version("d", operation="clean", parents=["d@1"]) as writer:
        writer.add([rows[0], rows[1], changed, rows[3], rows[4]])
    assert store.resolve("d@2").content_hash_scheme == HASH_SCHEME != LEGACY_HASH_SCHEME
    diff = diff_versions(store, "d@1", "d@2")
    assert (diff.added, diff.removed, diff.changed, diff.unchanged) == (0, 1, 1, 4)
    backwards = diff_versions(store, "d@2", "d@1")
    assert (backwards.added, backwards.removed, backwards.changed, backwards.unchanged) == (1, 0, 1, 4)


def test_the_batch_hash_is_the_one_row_hash() -> None:
    turns = [("user", "你好 hello"), ("assistant", "在的"), ("system", "odd role")]
    table = pa.table({"system": ["你是客服", None], "turns": [[{"role": r, "content": c} for r, c in turns], []]})
    batch = content_hashes(table["system"].combine_chunks(), table["turns"].combine_chunks()).to_pylist()
    assert batch == [content_hash("你是客服", turns), content_hash("", [])]
    assert len(set(batch)) == 2 and all(len(value) == 16 for value in batch)
