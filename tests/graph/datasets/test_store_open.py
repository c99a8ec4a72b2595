"""A stored version opens in the tools users have, without dialogforge: pandas, DuckDB, HF datasets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from graph.datasets.importer import import_sources
from graph.datasets.store import DatasetStore
from tests.graph.datasets.helpers import sample, sharegpt, write_jsonl


@pytest.fixture
def version(tmp_path: Path) -> tuple[DatasetStore, list[Path]]:
    store = DatasetStore(tmp_path / "store")
    path = write_jsonl(
        tmp_path / "in.jsonl", [sharegpt("你好", "您好，请问有什么可以帮您？", system="客服"), sharegpt("q", "a")]
    )
    import_sources(store, "d", [str(path)])
    with store.new_version("d", operation="generate", parents=["d@1"]) as writer:
        writer.add([sample(1), sample(2)])
    return store, store.files("d@2") + store.files("d@1")


def test_pandas_sees_turns_as_role_content_dicts(version: tuple[DatasetStore, list[Path]]) -> None:
    import pandas as pd

    _, files = version
    frame = pd.read_parquet(files[1])
    assert list(frame["turns"][0]) == [
        {"role": "user", "content": "你好"},
        {"role": "assistant", "content": "您好，请问有什么可以帮您？"},
    ]
    assert frame["lineage"][0]["origin"] == "import" and frame["lineage"][0]["source_row"] == 1
    generated = pd.read_parquet(files[0])
    assert json.loads(generated["lineage"][0]["models"]) == {"generator": "fake"}


def test_duckdb_queries_turns_and_lineage_across_versions(version: tuple[DatasetStore, list[Path]]) -> None:
    import duckdb

    store, _ = version
    pattern = str(store.root / "d" / "v*" / "samples-*.parquet")
    rows = duckdb.sql(
        f"SELECT lineage.origin AS origin, count(*) AS n, max(len(turns)) AS turns FROM read_parquet('{pattern}') "
        "GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert rows == [("generated", 2, 2), ("import", 2, 2)]
    first = duckdb.sql(
        f"SELECT turns[1].content FROM read_parquet('{pattern}') WHERE lineage.source_row = 1"
    ).fetchall()
    assert first == [("你好",)]


def test_hf_datasets_loads_a_version_as_parquet(version: tuple[DatasetStore, list[Path]], tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    _, files = version
    loaded = datasets.load_dataset("parquet", data_files=[str(files[1])], split="train", cache_dir=str(tmp_path / "hf"))
    assert loaded.num_rows == 2
    assert loaded[0]["turns"][0] == {"role": "user", "content": "你好"}
    assert loaded[0]["lineage"]["origin"] == "import"


def test_ray_data_reads_a_version_and_maps_batches_to_samples(version: tuple[DatasetStore, list[Path]]) -> None:
    ray = pytest.importorskip("ray")  # Ray is the Ray issue's optional extra; run when it is installed
    import pyarrow as pa

    from graph.datasets.rows import batch_samples

    store, _ = version

    def turn_counts(batch: pa.Table) -> pa.Table:
        samples = batch_samples(batch)
        return pa.table({"id": [s.id for s in samples], "turns": [len(s.turns) for s in samples]})

    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    try:
        data = ray.data.read_parquet([str(path) for path in store.files("d@1")])
        assert sorted(row["turns"][0]["content"] for row in data.take_all()) == ["q", "你好"]
        assert [row["turns"] for row in data.map_batches(turn_counts, batch_format="pyarrow").take_all()] == [2, 2]
    finally:
        ray.shutdown()
