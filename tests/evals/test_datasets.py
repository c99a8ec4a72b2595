"""Loading labelled and pairwise sets, column mapping errors and stratified sampling."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from evals.datasets import (
    DatasetError,
    Scale,
    item_key,
    limit_labelled,
    limit_pairwise,
    load_labelled,
    load_pairwise,
    stratified_indices,
)

CSV = "response,a1,a2,a3,median\nhello,0,1,1,1\nI am sorry,2,2,1,2\nok,0,0,0,0\n"


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding=encoding)
    return path


def test_load_csv_with_score_and_annotators(tmp_path: Path) -> None:
    data = load_labelled(write(tmp_path, "d.csv", CSV), score="median", annotators=["a1", "a2", "a3"])
    assert [item.label for item in data.items] == [1, 2, 0]
    assert data.items[1].annotators == (2, 2, 1)
    assert data.scale == Scale(0, 2)
    assert data.name == "d"


def test_label_defaults_to_annotator_median(tmp_path: Path) -> None:
    data = load_labelled(write(tmp_path, "d.csv", CSV), annotators=["a1", "a2", "a3"])
    assert [item.label for item in data.items] == [1, 2, 0]


def test_bom_stripped_at_file_start_and_inside_first_cell(tmp_path: Path) -> None:
    text = "\ufeffresponse,median\n\ufeff你好呀,1\n"
    data = load_labelled(write(tmp_path, "zh.csv", text), score="median")
    assert data.items[0].text == "你好呀"


def test_jsonl_with_context(tmp_path: Path) -> None:
    lines = [{"q": "I failed", "r": "That must hurt.", "s": 5}, {"q": "hi", "r": "Hello.", "s": 2}]
    path = write(tmp_path, "d.jsonl", "\n".join(json.dumps(line) for line in lines) + "\n")
    data = load_labelled(path, text="r", context="q", score="s", scale="1-5")
    assert data.items[0].context == "I failed"
    assert data.items[0].key == item_key("That must hurt.", "I failed")
    assert data.items[0].key != item_key("That must hurt.", "")


def test_missing_column_lists_available(tmp_path: Path) -> None:
    with pytest.raises(DatasetError) as error:
        load_labelled(write(tmp_path, "d.csv", CSV), text="reply", score="median")
    assert "'reply'" in str(error.value)
    assert "available columns: response, a1, a2, a3, median" in str(error.value)


def test_needs_score_or_annotators(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="--score"):
        load_labelled(write(tmp_path, "d.csv", CSV))


def test_off_scale_and_non_numeric_ratings(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="outside the scale 0-1"):
        load_labelled(write(tmp_path, "d.csv", CSV), score="median", scale="0-1")
    with pytest.raises(DatasetError, match="not a number"):
        load_labelled(write(tmp_path, "d.csv", "response,s\nhi,high\n"), score="s")


@pytest.mark.parametrize("text", ["2-0", "five", "1_5"])
def test_bad_scale(text: str) -> None:
    with pytest.raises(DatasetError, match="bad scale"):
        Scale.parse(text)


def test_missing_file_and_unknown_type(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="not found"):
        load_labelled(tmp_path / "nope.csv", score="s")
    with pytest.raises(DatasetError, match="unsupported"):
        load_labelled(write(tmp_path, "d.xlsx", "x"), score="s")
    with pytest.raises(DatasetError, match="not a readable Parquet file"):
        load_labelled(write(tmp_path, "d.parquet", "x"), score="s")


def test_pairwise_loading_and_preference_errors(tmp_path: Path) -> None:
    good = "response_a,response_b,preference\nx,y,A\nx,z,tie\ny,z,b\n"
    data = load_pairwise(write(tmp_path, "p.csv", good))
    assert [item.preference for item in data.items] == ["a", "tie", "b"]
    with pytest.raises(DatasetError, match="not one of a, b, tie"):
        load_pairwise(write(tmp_path, "bad.csv", "response_a,response_b,preference\nx,y,maybe\n"))
    with pytest.raises(DatasetError, match="available columns: a, b, preference"):
        load_pairwise(write(tmp_path, "cols.csv", "a,b,preference\nx,y,a\n"))


def test_stratified_limit_keeps_proportions_and_is_deterministic() -> None:
    labels = ["0"] * 30 + ["1"] * 60 + ["2"] * 10
    chosen = stratified_indices(labels, 20, seed=7)
    assert chosen == stratified_indices(labels, 20, seed=7)
    assert chosen[:10] == stratified_indices(labels, 10, seed=7)  # sampling order: prefixes are samples
    assert Counter(labels[index] for index in chosen) == {"0": 6, "1": 12, "2": 2}
    assert set(chosen) <= set(stratified_indices(labels, 50, seed=7))  # nested
    assert stratified_indices(labels, 20, seed=8) != chosen
    assert stratified_indices(labels, None) == list(range(100))
    with pytest.raises(DatasetError):
        stratified_indices(labels, 0)


def test_limit_helpers(tmp_path: Path) -> None:
    rows = "response,s\n" + "".join(f"r{i},{i % 3}\n" for i in range(30))
    data = limit_labelled(load_labelled(write(tmp_path, "d.csv", rows), score="s"), 9)
    assert Counter(item.label for item in data.items) == {0: 3, 1: 3, 2: 3}
    pairs = "response_a,response_b,preference\n" + "".join(f"a{i},b{i},{'ab'[i % 2]}\n" for i in range(10))
    assert len(limit_pairwise(load_pairwise(write(tmp_path, "p.csv", pairs)), 4).items) == 4


SETS = Path(__file__).resolve().parents[2] / "evals" / "sets"


@pytest.mark.parametrize("name", ["coherence_en", "coherence_zh", "correctness_en", "correctness_zh"])
def test_the_shipped_criterion_sets_load_with_every_level_ten_times(name: str) -> None:
    data = load_labelled(SETS / f"{name}.jsonl", context="user", score="score", scale="0-2")
    assert Counter(item.label for item in data.items) == {0: 10, 1: 10, 2: 10}
    assert all(item.context for item in data.items)
    assert len({item.key for item in data.items}) == 30
