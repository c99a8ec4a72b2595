"""Import through the real readers and formats: detection, Chinese text, BOMs, bad rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from graph.datasets.errors import BadRowError, FormatError, SourceError
from graph.datasets.importer import ImportOptions, import_sources
from graph.datasets.store import DatasetStore
from tests.graph.datasets.helpers import sharegpt, write_jsonl


def _import(tmp_path: Path, source: Path, **options: object):  # type: ignore[no-untyped-def]
    store = DatasetStore(tmp_path / "store")
    detected: list[str] = []
    result = import_sources(store, "d", [str(source)], ImportOptions(**options), on_detect=detected.append)  # type: ignore[arg-type]
    samples = [s for batch in store.iter_samples("d") for s in batch]
    return result.manifest, samples, detected


def test_sharegpt_jsonl_with_bom_chinese_system_and_blank_lines(tmp_path: Path) -> None:
    rows = [sharegpt("你好，快递三天没更新了。", "别着急，我帮您查。", system="你是客服"), sharegpt("Hi", "Hello")]
    path = write_jsonl(tmp_path / "a.jsonl", rows, bom=True)
    path.write_bytes(path.read_bytes().replace(b"\n", b"\n\n", 1))
    manifest, samples, detected = _import(tmp_path, path)
    assert "sharegpt (conversations of from/value)" in detected[0] and "utf-8-sig" in detected[0]
    assert [s.turns[0].content for s in samples] == ["你好，快递三天没更新了。", "Hi"]
    assert samples[0].system == "你是客服" and samples[1].system == ""
    assert [s.lineage.source_row for s in samples] == [1, 3]  # line numbers, the blank line counted
    assert all(s.lineage.origin == "import" and s.lineage.source_file == str(path) for s in samples)
    assert manifest.sources[0].sha256 and manifest.sources[0].rows_read == 2


def test_openai_messages_with_a_system_message_first(tmp_path: Path) -> None:
    messages = [
        {"role": "system", "content": "S"},
        {"role": "user", "content": "u"},
        {"role": "assistant", "content": "a"},
    ]
    path = write_jsonl(tmp_path / "o.jsonl", [{"messages": messages}])
    _, samples, detected = _import(tmp_path, path)
    assert "openai (messages of role/content)" in detected[0]
    assert samples[0].system == "S" and [t.role for t in samples[0].turns] == ["user", "assistant"]


def test_alpaca_json_array_with_history(tmp_path: Path) -> None:
    rows = [
        {"instruction": "第二问", "input": "补充", "output": "第二答", "system": "s", "history": [["第一问", "第一答"]]}
    ]
    path = tmp_path / "alpaca.json"
    path.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
    _, samples, detected = _import(tmp_path, path)
    assert "json, alpaca" in detected[0]
    assert [t.content for t in samples[0].turns] == ["第一问", "第一答", "第二问\n补充", "第二答"]


def test_same_content_gets_the_same_id_and_repeats_are_kept(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "dup.jsonl", [sharegpt("q", "a"), sharegpt("q", "a"), sharegpt("q2", "a")])
    _, samples, _ = _import(tmp_path, path)
    assert samples[1].id == f"{samples[0].id}-2" and len({s.id for s in samples}) == 3
    again = DatasetStore(tmp_path / "other")
    import_sources(again, "d", [str(path)])
    assert [s.id for b in again.iter_samples("d") for s in b] == [s.id for s in samples]


BAD_ROWS = [
    (
        {"conversations": [{"from": "gpt", "value": "a"}, {"from": "human", "value": "q"}]},
        "conversations[0].from",
        "expected 'user'",
    ),
    ({"conversations": [{"from": "human", "value": "q"}]}, "conversations[0].from", "must end with the assistant"),
    (
        {"conversations": [{"from": "human", "value": "q"}, {"from": "function_call", "value": "{}"}]},
        "conversations[1].from",
        "tool message",
    ),
    (
        {"conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "  "}]},
        "conversations[1].value",
        "empty text",
    ),
    (
        {"conversations": [{"from": "human", "value": 5}, {"from": "gpt", "value": "a"}]},
        "conversations[0].value",
        "expected text",
    ),
    ({"system": "s"}, "conversations", "missing"),
]


@pytest.mark.parametrize(("row", "field", "message"), BAD_ROWS)
def test_a_bad_row_names_file_row_and_field_and_nothing_is_written(
    tmp_path: Path, row: dict, field: str, message: str
) -> None:
    path = write_jsonl(tmp_path / "bad.jsonl", [sharegpt("q", "a"), row, sharegpt("q2", "a2")])
    with pytest.raises(BadRowError) as error:
        _import(tmp_path, path)
    assert f"bad.jsonl: row 2, field {field}: " in str(error.value) and message in str(error.value)
    assert DatasetStore(tmp_path / "store").names() == []


def test_skip_keeps_going_and_keeps_rejects_beside_the_version(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "mixed.jsonl", [sharegpt("q", "a"), BAD_ROWS[0][0], sharegpt("q2", "a2")])
    with path.open("a", encoding="utf-8") as handle:
        handle.write("{not json\n")
    manifest, samples, _ = _import(tmp_path, path, on_error="skip")
    assert manifest.rows == 2 and manifest.rejected == 2 and len(samples) == 2
    rejects = (tmp_path / "store/datasets/d/v1/rejects.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in rejects]
    assert [(r["row"], r["field"]) for r in records] == [(2, "conversations[0].from"), (4, "")]
    assert records[1]["raw"] == "{not json" and "not valid JSON" in records[1]["error"]


def test_blocks_parsed_at_once_keep_file_order_and_line_numbers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("graph.datasets.readers.jsonl.BLOCK_BYTES", 300)  # ~4 rows a block: many blocks
    rows = [sharegpt(f"问题 {index}", f"回答 {index}") for index in range(60)]
    path = write_jsonl(tmp_path / "many.jsonl", rows)
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[37] = "{not json\n"  # line 38 of the file, in a block of its own parsed line by line
    path.write_text("".join(lines), encoding="utf-8")
    manifest, samples, _ = _import(tmp_path, path, on_error="skip")
    assert manifest.rows == 59 and manifest.rejected == 1
    assert [s.turns[0].content for s in samples] == [f"问题 {i}" for i in range(60) if i != 37]
    assert [s.lineage.source_row for s in samples] == [i + 1 for i in range(60) if i != 37]
    rejects = (tmp_path / "store/datasets/d/v1/rejects.jsonl").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["row"] for line in rejects] == [38]


def test_ambiguous_and_unknown_files_ask_for_an_option(tmp_path: Path) -> None:
    both = {**sharegpt("q", "a"), "instruction": "i", "output": "o"}
    with pytest.raises(FormatError, match=r"fit sharegpt .* and alpaca; choose with --format"):
        _import(tmp_path, write_jsonl(tmp_path / "both.jsonl", [both]))
    with pytest.raises(FormatError, match=r"cannot tell the format \(columns: answer, question\).*--map"):
        _import(tmp_path, write_jsonl(tmp_path / "qa.jsonl", [{"question": "q", "answer": "a"}]))
    _, samples, _ = _import(tmp_path, tmp_path / "both.jsonl", format="alpaca")
    assert samples[0].turns[0].content == "i"


def test_csv_pairs_in_gbk_with_mapped_columns(tmp_path: Path) -> None:
    path = tmp_path / "support.csv"
    path.write_bytes('question,answer,note\n信用卡积分怎么兑换？,在App里兑换。,x\n"多行\n问题",好的,y\n'.encode("gbk"))
    _, samples, detected = _import(tmp_path, path, mapping={"user": "question", "assistant": "answer"})
    assert "gb18030" in detected[0] and "pairs (user=question, assistant=answer)" in detected[0]
    assert [s.turns[0].content for s in samples] == ["信用卡积分怎么兑换？", "多行\n问题"]
    assert [s.lineage.source_row for s in samples] == [1, 2]
    with pytest.raises(FormatError, match=r"no column 'q'; the columns are question, answer, note"):
        _import(tmp_path, path, mapping={"user": "q", "assistant": "answer"})


def test_csv_with_bom_and_tsv(tmp_path: Path) -> None:
    path = tmp_path / "bom.tsv"
    path.write_bytes(b"\xef\xbb\xbfq\ta\nhello\tworld\n")
    _, samples, _ = _import(tmp_path, path, mapping={"user": "q", "assistant": "a"})
    assert samples[0].turns[1].content == "world"


def test_missing_and_unsupported_files(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such file"):
        _import(tmp_path, tmp_path / "nope.jsonl")
    (tmp_path / "x.xlsx").write_bytes(b"PK")
    with pytest.raises(SourceError, match=r"unsupported file type '\.xlsx'"):
        _import(tmp_path, tmp_path / "x.xlsx")


@pytest.mark.parametrize("fmt", ["alpaca", "sharegpt", "openai"])
def test_an_export_imports_back_to_the_same_samples(tmp_path: Path, fmt: str) -> None:
    from graph.datasets.version_export import export_version

    source = write_jsonl(
        tmp_path / "in.jsonl", [sharegpt("一", "二", system="系统"), sharegpt("Line\none", 'He said "ok"')]
    )
    store = DatasetStore(tmp_path / "store")
    import_sources(store, "d", [str(source)])
    assert export_version(store, "d", fmt, tmp_path / "out.jsonl") == 2  # type: ignore[arg-type]
    import_sources(store, "back", [str(tmp_path / "out.jsonl")])
    before, after = ([(s.id, s.system, s.turns) for b in store.iter_samples(n) for s in b] for n in ("d", "back"))
    assert before == after


def test_parquet_with_conversations_as_text_gets_an_exact_error(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "odd.parquet"
    pq.write_table(pa.table({"conversations": ['[{"from": "human"}]'], "x": [1]}), path)
    with pytest.raises(
        BadRowError, match=r"odd.parquet: row 1, field conversations: expected a list of messages, got str"
    ):
        _import(tmp_path, path, format="sharegpt")


def test_parquet_and_json_lines_named_json(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [sharegpt("p1", "a1"), sharegpt("p2", "a2")]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "in.parquet")
    _, samples, detected = _import(tmp_path, tmp_path / "in.parquet")
    assert "parquet, sharegpt" in detected[0] and [s.lineage.source_row for s in samples] == [1, 2]
    _, samples, detected = _import(tmp_path, write_jsonl(tmp_path / "lines.json", rows))
    assert "jsonl, sharegpt" in detected[0] and len(samples) == 2
