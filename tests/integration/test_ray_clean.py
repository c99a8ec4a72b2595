"""``dialogforge clean --executor ray`` on a real two-node local Ray cluster: the same rows as local.

The session's ``ray_cluster`` fixture (tests/integration/conftest.py) is a head and a second node
(``ray start``, one CPU each, in a temp dir of their own), shared with the generation tests. Both
cleanings read the same planted version (HTML, phone numbers, refusals, chit-chat, exact and near
repeats, spread over many batches) and must write the same rows with the same lineage; the Ray
one must have run on both nodes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from graph.datasets.store import DatasetStore
from tests.graph.datasets.helpers import sharegpt
from tests.integration.cli_support import dialogforge
from tests.integration.ray_cluster import LOOPBACK_ENV, RayCluster
from tests.integration.test_cli_clean import DIRTY, imported

pytestmark = pytest.mark.ray

FAQ = [
    "您好，信用卡的积分可以在App的积分商城里兑换礼品和航空里程，每月一号更新一次积分{}",
    "Your statement is issued on the 5th of every month and the payment is due twenty days later{}",
    "挂失以后补办的新卡会在七个工作日内寄到您的账单地址，收到后请在App里激活再使用{}",
]
TAILS = ["", "呢", "哦", "啦", "!", " ok", "吧"]


def planted() -> list[dict[str, Any]]:
    """Return 7 dirty rows and 84 FAQ answers: exact repeats, near repeats and distinct rows, interleaved."""
    rows = list(DIRTY)
    for index in range(84):
        answer = FAQ[index % 3].format(TAILS[index % 7]) + ("" if index % 4 else f" 第{index}号")
        rows.append(sharegpt(f"问题{index % 5}", answer))
    return rows


def rows_of(store: DatasetStore, ref: str) -> list[dict[str, Any]]:
    return [sample.model_dump(mode="json") for batch in store.iter_samples(ref) for sample in batch]


def test_clean_on_ray_equals_clean_on_local(tmp_path: Path, ray_cluster: RayCluster) -> None:
    env = imported(tmp_path, planted())
    common = ("--batch-rows", "10", "--report")
    local = dialogforge("clean", "logs@1", "--into", "local", *common, str(tmp_path / "local"), env=env)
    assert local.returncode == 0, local.stderr
    on_ray = dialogforge(
        "clean",
        "logs@1",
        "--into",
        "on-ray",
        "--executor",
        "ray",
        "--ray-address",
        ray_cluster.address,
        *common,
        str(tmp_path / "ray"),
        env={**env, **LOOPBACK_ENV},
        timeout=240,
    )
    assert on_ray.returncode == 0, on_ray.stderr
    assert "on 2 Ray node(s)" in on_ray.stdout, on_ray.stdout

    store = DatasetStore(tmp_path / "data")
    expected, got = rows_of(store, "local@1"), rows_of(store, "on-ray@1")
    assert got == expected
    assert 3 < len(got) < 30  # 91 rows in: the planted noise and repeats went, the distinct answers stayed
    assert {row["lineage"]["parent_version"] for row in got} == {"logs@1"}
    local_manifest, ray_manifest = store.resolve("local@1"), store.resolve("on-ray@1")
    assert ray_manifest.dropped == local_manifest.dropped
    assert {"exact-dedup:exact_duplicate", "near-dedup:near_duplicate", "refusals:refusal"} <= set(ray_manifest.dropped)
    assert ray_manifest.content_hash == local_manifest.content_hash
    drops = [(tmp_path / side / "dropped.jsonl").read_text(encoding="utf-8") for side in ("local", "ray")]
    assert drops[0] == drops[1]
    reports = [json.loads((tmp_path / side / "report.json").read_text()) for side in ("local", "ray")]
    assert reports[1]["executor"] == "ray" and reports[1]["ray_nodes"] == 2
    assert reports[1]["operators"] == reports[0]["operators"]


def test_a_cluster_that_cannot_be_reached_is_one_line_exit_2(tmp_path: Path) -> None:
    env = imported(tmp_path, DIRTY[:2])
    result = dialogforge(
        "clean", "logs@1", "--into", "logs", "--executor", "ray", "--ray-address", "127.0.0.1:9", env=env
    )
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stderr.startswith("error: cannot reach the Ray cluster at 127.0.0.1:9")
    assert len(result.stderr.strip().splitlines()) == 1
    for bad, expected in [
        (("--ray-address", "auto"), "--ray-address is only used with --executor ray"),
        (("--executor", "spark"), "unknown executor 'spark'; executors: local, ray"),
        (("--executor", "ray", "--ray-address", "nohost"), "--ray-address must be auto or HOST:PORT"),
    ]:
        result = dialogforge("clean", "logs@1", "--into", "logs", *bad, env=env)
        assert result.returncode == 2 and result.stderr.startswith("error: ") and expected in result.stderr
    assert [m.version for m in DatasetStore(tmp_path / "data").versions("logs")] == [1]
