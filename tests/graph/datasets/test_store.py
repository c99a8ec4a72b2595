"""The version store: atomic, immutable versions, references, lineage round trips."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.schemas import Lineage, Sample
from graph.datasets.errors import DatasetConflictError, DatasetNotFoundError, InvalidNameError, VersionNotFoundError
from graph.datasets.store import DatasetStore
from tests.graph.datasets.helpers import sample


def test_write_commit_and_read_back_samples(tmp_path: Path) -> None:
    store = DatasetStore(tmp_path)
    samples = [sample(i) for i in range(5)]
    with store.new_version("gentle-set", operation="generate", params={"job_id": "job1"}, key="job:job1") as writer:
        writer.add(samples[:2])
        writer.add(samples[2:])
    manifest = writer.manifest
    assert manifest.ref == "gentle-set@1" and manifest.rows == 5 and manifest.key == "job:job1"
    read = [item for batch in store.iter_samples("gentle-set", batch_size=2) for item in batch]
    assert [s.model_dump() for s in read] == [s.model_dump() for s in samples]
    assert manifest.lineage_counts["origin"] == {"generated": 5}
    assert store.find_key("gentle-set", "job:job1") == manifest


def test_versions_are_numbered_tagged_and_resolved(tmp_path: Path) -> None:
    store = DatasetStore(tmp_path)
    for number in (1, 2, 3):
        with store.new_version("d", operation="import", tag="v1.1" if number == 2 else None) as writer:
            writer.add([sample(number)])
    assert store.resolve("d").version == 3
    assert store.resolve("d@latest").version == 3
    assert store.resolve("d@v1.1").version == 2
    assert store.resolve("d@1").rows == 1
    with pytest.raises(VersionNotFoundError, match=r"versions: 1, 2 \(v1.1\), 3"):
        store.resolve("d@7")
    with pytest.raises(DatasetNotFoundError, match="data sets: d"):
        store.resolve("other")
    with pytest.raises(DatasetConflictError, match=r"tagged 'v1\.1'"):
        store.new_version("d", operation="import", tag="v1.1")


def test_exception_inside_the_block_leaves_nothing(tmp_path: Path) -> None:
    store = DatasetStore(tmp_path)
    with pytest.raises(RuntimeError), store.new_version("half", operation="import") as writer:
        writer.add([sample(1)])
        raise RuntimeError("boom")
    assert store.names() == []
    assert not (tmp_path / "datasets" / "half").exists()


def test_duplicate_ids_are_refused_and_null_ids_come_from_content(tmp_path: Path) -> None:
    store = DatasetStore(tmp_path)
    with pytest.raises(DatasetConflictError, match="gen-1"), store.new_version("dup", operation="x") as writer:
        writer.add([sample(1), sample(1)])
    assert store.names() == []


@pytest.mark.parametrize("name", ["../evil", "a/b", "Upper", "", ".hidden", "a..b", "x" * 65])
def test_unsafe_names_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(InvalidNameError):
        DatasetStore(tmp_path).new_version(name, operation="import")


def test_versions_are_immutable_files(tmp_path: Path) -> None:
    store = DatasetStore(tmp_path)
    with store.new_version("d", operation="import") as writer:
        writer.add([sample(1)])
    first = {p.name: p.read_bytes() for p in store.folder("d@1").iterdir()}
    with store.new_version("d", operation="clean", parents=["d@1"]) as writer:
        writer.add([sample(2)])
    assert {p.name: p.read_bytes() for p in store.folder("d@1").iterdir()} == first
    assert store.resolve("d@2").parents == ["d@1"]
    with pytest.raises(VersionNotFoundError):
        store.new_version("d", operation="clean", parents=["d@9"])


def test_samples_stored_before_lineage_grew_still_load() -> None:
    old = '{"style": "gentle", "topic": "t", "workspace": "w", "job_id": "j", "started_at": "2025-01-01T00:00:00Z"}'
    lineage = Lineage.model_validate_json(old)
    assert lineage.origin == "generated" and lineage.source_file is None and lineage.params == {}
    assert Sample(id="x", status="accepted", system="", turns=[], lineage=Lineage()).lineage.style == ""
