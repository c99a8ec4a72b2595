"""clean_version over a real store: a new version with lineage and a drop log; failures leave nothing."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from agents.schemas import Sample
from graph.cleaning.base import Decision, RowOperator
from graph.cleaning.registry import build_operators, parse_ops
from graph.cleaning.run import DROPPED_FILE, REPORT_FILE, clean_version
from graph.datasets.store import DatasetStore
from tests.graph.cleaning.helpers import row

ROWS = [
    row("a", "积分怎么兑换？", "在App里兑换就可以啦(^_−)☆"),
    row("b", "积分怎么兑换", "在app里兑换就可以啦 (^_−)☆"),
    row("c", "<b>卡丢了</b>", "请先挂失，电话13812345678"),
]


def stored(tmp_path: Path) -> DatasetStore:
    store = DatasetStore(tmp_path)
    with store.new_version("logs", operation="import") as writer:
        writer.add(ROWS)
    return store


def test_a_cleaned_version_has_lineage_a_drop_log_and_is_reused_on_rerun(tmp_path: Path) -> None:
    store = stored(tmp_path)
    chain = parse_ops("default")
    result = asyncio.run(clean_version(store, "logs", "logs", chain, build_operators(chain), workers=0))
    manifest = result.manifest
    assert manifest.ref == "logs@2" and manifest.rows == 2 and manifest.dropped == {"exact-dedup:exact_duplicate": 1}
    [kept, changed] = [sample for batch in store.iter_samples("logs@2") for sample in batch]
    assert (kept.id, changed.id) == ("a", "c") and changed.turns[1].content == "请先挂失，电话[PHONE]"
    assert changed.lineage.origin == "cleaned" and changed.lineage.operator == "clean"
    assert (changed.lineage.parent_id, changed.lineage.parent_version) == ("c", "logs@1")
    assert changed.lineage.params == {"changed_by": ["strip-html", "pii"]} and kept.lineage.params == {"changed_by": []}
    folder = store.folder(manifest)
    drops = [json.loads(line) for line in (folder / DROPPED_FILE).read_text().splitlines()]
    assert drops == [{"id": "b", "operator": "exact-dedup", "code": "exact_duplicate", "duplicate_of": "a"}]
    assert json.loads((folder / REPORT_FILE).read_text())["rows_out"] == 2
    assert [s.turns for batch in store.iter_samples("logs@1") for s in batch] == [r.turns for r in ROWS]

    again = asyncio.run(clean_version(store, "logs@1", "logs", chain, build_operators(chain), workers=0))
    assert again.reused and again.manifest.ref == "logs@2" and again.report.rows_out == 2
    other = parse_ops("normalize")
    assert (
        asyncio.run(clean_version(store, "logs@1", "logs", other, build_operators(other), workers=0)).manifest.version
        == 3
    )


class Exploding(RowOperator):
    name = "exploding"
    summary = "fails on row c"

    def decide(self, sample: Sample) -> Decision:
        raise RuntimeError(f"broke on {sample.id}")


def test_an_operator_failing_mid_run_leaves_no_version(tmp_path: Path) -> None:
    store = stored(tmp_path)
    with pytest.raises(RuntimeError, match="broke on a"):
        asyncio.run(clean_version(store, "logs", "logs", parse_ops("normalize"), [Exploding()], workers=0))
    assert [m.version for m in store.versions("logs")] == [1]
    assert not list((tmp_path / "datasets" / "logs").glob(".tmp-*"))
