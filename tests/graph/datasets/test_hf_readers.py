"""HF ``save_to_disk`` folders and Hub data sets already in the local HF cache (never a download)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from graph.datasets.errors import SourceError
from graph.datasets.importer import ImportOptions, import_sources
from graph.datasets.store import DatasetStore
from tests.graph.datasets.helpers import sharegpt


def _samples(store: DatasetStore, name: str) -> list:  # type: ignore[type-arg]
    return [s for batch in store.iter_samples(name) for s in batch]


def test_save_to_disk_folder_and_dataset_dict(tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    rows = [sharegpt(f"问{i}", f"答{i}") for i in range(3)]
    datasets.Dataset.from_list(rows).save_to_disk(str(tmp_path / "one"))
    datasets.DatasetDict(
        {"train": datasets.Dataset.from_list(rows), "test": datasets.Dataset.from_list(rows[:1])}
    ).save_to_disk(str(tmp_path / "dict"))
    store = DatasetStore(tmp_path / "store")
    import_sources(store, "one", [str(tmp_path / "one")])
    assert [s.turns[0].content for s in _samples(store, "one")] == ["问0", "问1", "问2"]
    with pytest.raises(SourceError, match=r"several splits; choose one with --split \(train, test\)"):
        import_sources(store, "two", [str(tmp_path / "dict")])
    manifest = import_sources(store, "two", [str(tmp_path / "dict")], ImportOptions(split="test")).manifest
    assert manifest.rows == 1 and manifest.sources[0].kind == "hf-disk"


def _fake_hub_cache(root: Path, repo: str, files: dict[str, pa.Table]) -> None:
    """Lay out a cached snapshot exactly as huggingface_hub writes it."""
    folder = root / f"datasets--{repo.replace('/', '--')}"
    commit = "0123456789abcdef0123456789abcdef01234567"
    (folder / "refs").mkdir(parents=True)
    (folder / "refs" / "main").write_text(commit)
    for relative, table in files.items():
        path = folder / "snapshots" / commit / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, path)


def test_hub_dataset_from_the_local_cache_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "hub"
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    train = pa.Table.from_pylist([{"instruction": "你好", "input": "", "output": "您好"}])
    test = pa.Table.from_pylist([{"instruction": "q", "input": "", "output": "a"}])
    _fake_hub_cache(
        cache, "camel-ai/tiny", {"data/train-00000-of-00001.parquet": train, "data/test-00000-of-00001.parquet": test}
    )
    store = DatasetStore(tmp_path / "store")
    with pytest.raises(SourceError, match="splits test, train; choose one with --split"):
        import_sources(store, "camel", ["hf:camel-ai/tiny"])
    manifest = import_sources(store, "camel", ["hf:camel-ai/tiny"], ImportOptions(split="train")).manifest
    assert manifest.sources[0].path == "hf:camel-ai/tiny/data/train-00000-of-00001.parquet"
    assert _samples(store, "camel")[0].turns[1].content == "您好"
    with pytest.raises(SourceError, match="not in the local Hugging Face cache, and dialogforge never downloads"):
        import_sources(store, "x", ["hf:nobody/nothing"])
