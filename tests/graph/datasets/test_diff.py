"""Diff by sample id: added, removed, changed, counts by operation, examples."""

from __future__ import annotations

from pathlib import Path

from agents.schemas import Turn
from graph.datasets.diff import diff_versions
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
