"""Tests for graph.datasets.export: record shapes, JSONL round-trips, atomic writes and dataset_info."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agents.schemas import Attempt, Lineage, Sample, Turn, Verdict
from graph.datasets.export import (
    EXPORT_FORMATS,
    ExportError,
    dataset_info_entry,
    iter_jsonl_lines,
    read_raw_jsonl,
    to_record,
    write_dataset_info,
    write_jsonl,
)

SYSTEM = "你是一位温柔的客服，回答要简短。"
ONE = [("我的订单还没到，好着急。", "别担心，我马上帮您查一下物流。")]
THREE = [
    ("你好，信用卡年费怎么收？", "您好！首年免年费，之后刷卡满六次即可免次年年费。"),
    ("那如果没刷满呢？", "没刷满的话会收取 200 元年费 (annual fee)。"),
    ('能帮我查下余额吗？\n"quoted"', "好的，请提供卡号后四位。😊"),
]


def make_sample(pairs: list[tuple[str, str]], system: str = SYSTEM, sample_id: str = "s-1") -> Sample:
    turns: list[Turn] = []
    for user, assistant in pairs:
        turns += [Turn(role="user", content=user), Turn(role="assistant", content=assistant)]
    verdict = Verdict(scores={"style": 5}, passed=True)
    return Sample(
        id=sample_id,
        status="accepted",
        system=system,
        turns=turns,
        attempts=[Attempt(kind="generate", turns=turns, verdict=verdict)],
        lineage=Lineage(style="gentle", topic="订单", models={"generator": "fake"}),
    )


def turns_of(record: dict, fmt: str) -> tuple[str, list[tuple[str, str]]]:
    """Rebuild (system, [(role, content), ...]) from a record, the way a trainer reads it."""
    if fmt == "alpaca":
        assert record["input"] == ""
        pairs = [*record["history"], [record["instruction"], record["output"]]]
        return record["system"], [
            (role, text) for p in pairs for role, text in zip(("user", "assistant"), p, strict=True)
        ]
    if fmt == "sharegpt":
        roles = {"human": "user", "gpt": "assistant"}
        return record["system"], [(roles[m["from"]], m["value"]) for m in record["conversations"]]
    messages = record["messages"]
    system = messages[0]["content"] if messages and messages[0]["role"] == "system" else ""
    return system, [(m["role"], m["content"]) for m in messages if m["role"] != "system"]


@pytest.mark.parametrize("fmt", ["alpaca", "sharegpt", "openai"])
@pytest.mark.parametrize("pairs", [ONE, THREE], ids=["single", "multi"])
def test_training_formats_round_trip(tmp_path: Path, fmt: str, pairs: list[tuple[str, str]]) -> None:
    samples = [make_sample(pairs, sample_id="a"), make_sample(pairs[::-1], sample_id="b")]
    path = tmp_path / "nested" / "dir" / f"{fmt}.jsonl"
    assert write_jsonl(samples, fmt, path) == 2  # type: ignore[arg-type]
    data = path.read_bytes()
    assert "订单".encode() in data or "信用卡".encode() in data
    assert b"\\u" not in data  # Chinese and emoji are written as UTF-8, not escaped
    lines = data.decode("utf-8").split("\n")
    assert lines[-1] == "" and len(lines) == 3
    for sample, line in zip(samples, lines[:2], strict=True):
        record = json.loads(line)
        assert record == to_record(sample, fmt)  # type: ignore[arg-type]
        system, turns = turns_of(record, fmt)
        assert system == sample.system
        assert turns == [(t.role, t.content) for t in sample.turns]


def test_record_shapes_exactly() -> None:
    sample = make_sample(THREE)
    alpaca = to_record(sample, "alpaca")
    assert list(alpaca) == ["instruction", "input", "output", "system", "history"]
    assert alpaca["instruction"] == THREE[-1][0] and alpaca["output"] == THREE[-1][1]
    assert alpaca["history"] == [list(p) for p in THREE[:-1]]
    assert to_record(make_sample(ONE), "alpaca")["history"] == []
    sharegpt = to_record(sample, "sharegpt")
    assert list(sharegpt) == ["conversations", "system"]
    assert [m["from"] for m in sharegpt["conversations"]] == ["human", "gpt"] * 3
    openai = to_record(sample, "openai")
    assert list(openai) == ["messages"]
    assert [m["role"] for m in openai["messages"]] == ["system"] + ["user", "assistant"] * 3
    assert openai["messages"][0]["content"] == SYSTEM
    assert to_record(make_sample(ONE, system=""), "openai")["messages"][0]["role"] == "user"


def test_raw_round_trip_keeps_everything(tmp_path: Path) -> None:
    separators = [("line\u2028separator\x85next\u2029para", "tab\tcr\r\nlf")]
    samples = [make_sample(THREE, sample_id="x"), make_sample(separators, sample_id="y")]
    rejected = Sample(
        id="z",
        status="rejected",
        system="",
        turns=[],
        reject_reason="parse error",
        lineage=Lineage(style="s", topic="t"),
    )
    path = tmp_path / "raw.jsonl"
    assert write_jsonl([*samples, rejected], "raw", path) == 3
    assert b"\\u" not in path.read_bytes()
    assert read_raw_jsonl(path) == [*samples, rejected]
    assert to_record(samples[0], "raw")["lineage"]["topic"] == "订单"


def test_iter_jsonl_lines_matches_file(tmp_path: Path) -> None:
    samples = [make_sample(ONE), make_sample(THREE)]
    for fmt in EXPORT_FORMATS:
        path = tmp_path / f"{fmt}.jsonl"
        write_jsonl(samples, fmt, path)
        assert "".join(iter_jsonl_lines(samples, fmt)) == path.read_text(encoding="utf-8")


def test_write_replaces_existing_file(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    path.write_text("old\n", encoding="utf-8")
    path.chmod(0o600)
    assert write_jsonl([make_sample(ONE)], "openai", path) == 1
    assert "old" not in path.read_text(encoding="utf-8")
    assert path.stat().st_mode & 0o777 == 0o600
    assert write_jsonl([], "openai", path) == 0 and path.read_bytes() == b""


def test_failed_write_leaves_no_partial_file(tmp_path: Path) -> None:
    bad = make_sample(ONE, sample_id="bad-7")
    bad.turns.reverse()
    new_path = tmp_path / "new.jsonl"
    with pytest.raises(ExportError, match="bad-7"):
        write_jsonl([make_sample(ONE), bad], "sharegpt", new_path)
    assert not new_path.exists()

    old_path = tmp_path / "old.jsonl"
    old_path.write_text("previous content\n", encoding="utf-8")

    def exploding() -> Iterator[Sample]:
        yield make_sample(ONE)
        raise RuntimeError("generator died")

    with pytest.raises(RuntimeError):
        write_jsonl(exploding(), "alpaca", old_path)
    assert old_path.read_text(encoding="utf-8") == "previous content\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.jsonl"]  # no temp files left


def test_unwritable_path_raises_export_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(ExportError, match="cannot write"):
        write_jsonl([make_sample(ONE)], "openai", blocker / "sub" / "out.jsonl")
    directory = tmp_path / "is-a-dir"
    directory.mkdir()
    with pytest.raises(ExportError, match="cannot write"):
        write_jsonl([make_sample(ONE)], "openai", directory)
    assert list(directory.iterdir()) == []


@pytest.mark.parametrize(
    "roles",
    [["assistant", "user"], ["user", "user"], ["user", "assistant", "user"], ["user"], []],
    ids=["starts-with-assistant", "two-users", "ends-with-user", "lone-user", "empty"],
)
@pytest.mark.parametrize("fmt", ["alpaca", "sharegpt", "openai"])
def test_strict_alternation(roles: list[str], fmt: str) -> None:
    sample = make_sample([], sample_id="odd-42")
    sample.turns = [Turn(role=role, content=f"t{i}") for i, role in enumerate(roles)]
    with pytest.raises(ExportError, match="odd-42"):
        to_record(sample, fmt)  # type: ignore[arg-type]
    with pytest.raises(ExportError, match="odd-42"):
        list(iter_jsonl_lines([sample], fmt))  # type: ignore[arg-type]
    assert to_record(sample, "raw")["id"] == "odd-42"  # raw is an audit dump: anything goes


def test_unknown_format_and_bad_text() -> None:
    with pytest.raises(ExportError, match="unknown export format"):
        to_record(make_sample(ONE), "csv")  # type: ignore[arg-type]
    broken = make_sample([("lone surrogate \ud800", "ok")], sample_id="surrogate-1")
    with pytest.raises(ExportError, match="surrogate-1"):
        list(iter_jsonl_lines([broken], "openai"))


def test_read_raw_jsonl_errors(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="cannot read"):
        read_raw_jsonl(tmp_path / "missing.jsonl")
    path = tmp_path / "bad.jsonl"
    path.write_text('\n{"id": "x"}\n', encoding="utf-8")
    with pytest.raises(ExportError, match=":2: not a raw sample"):
        read_raw_jsonl(path)


def test_dataset_info_entries_match_llamafactory_readme() -> None:
    # Shapes from LLaMA-Factory data/README.md ("Alpaca Format", "Sharegpt Format", "OpenAI Format").
    assert dataset_info_entry("d", "d.jsonl", "alpaca") == {
        "d": {
            "file_name": "d.jsonl",
            "columns": {
                "prompt": "instruction",
                "query": "input",
                "response": "output",
                "system": "system",
                "history": "history",
            },
        }
    }
    sharegpt = dataset_info_entry("d", "d.jsonl", "sharegpt")["d"]
    assert sharegpt["formatting"] == "sharegpt"
    assert sharegpt["columns"] == {"messages": "conversations", "system": "system"}
    assert sharegpt["tags"] == {"role_tag": "from", "content_tag": "value", "user_tag": "human", "assistant_tag": "gpt"}
    openai = dataset_info_entry("d", "d.jsonl", "openai")["d"]
    assert openai["formatting"] == "sharegpt"
    assert openai["columns"] == {"messages": "messages"}
    assert openai["tags"] == {
        "role_tag": "role",
        "content_tag": "content",
        "user_tag": "user",
        "assistant_tag": "assistant",
        "system_tag": "system",
    }
    with pytest.raises(ExportError):
        dataset_info_entry("d", "d.jsonl", "raw")


def test_write_dataset_info_merges(tmp_path: Path) -> None:
    info_path = tmp_path / "data" / "dataset_info.json"
    info_path.parent.mkdir()
    other = {"identity": {"file_name": "identity.json"}, "中文数据": {"file_name": "zh.json"}}
    info_path.write_text(json.dumps(other), encoding="utf-8")
    assert write_dataset_info(info_path.parent, "gentle", "gentle.jsonl", "sharegpt") == info_path
    write_dataset_info(info_path.parent, "snarky", "snarky.jsonl", "alpaca")
    write_dataset_info(info_path.parent, "gentle", "gentle_v2.jsonl", "openai")
    info = json.loads(info_path.read_text(encoding="utf-8"))
    assert list(info) == ["identity", "中文数据", "gentle", "snarky"]
    assert info["identity"] == other["identity"] and info["中文数据"] == other["中文数据"]
    assert info["gentle"]["file_name"] == "gentle_v2.jsonl" and info["gentle"]["columns"] == {"messages": "messages"}
    assert "中文数据" in info_path.read_text(encoding="utf-8")
    fresh = write_dataset_info(tmp_path / "new" / "dir", "x", "x.jsonl", "alpaca")
    assert list(json.loads(fresh.read_text(encoding="utf-8"))) == ["x"]


@pytest.mark.parametrize("content", ["{not json", "[1, 2]"])
def test_write_dataset_info_refuses_bad_existing_file(tmp_path: Path, content: str) -> None:
    (tmp_path / "dataset_info.json").write_text(content, encoding="utf-8")
    with pytest.raises(ExportError):
        write_dataset_info(tmp_path, "x", "x.jsonl", "alpaca")
    assert (tmp_path / "dataset_info.json").read_text(encoding="utf-8") == content


texts = st.text(max_size=40)  # arbitrary unicode (no surrogates), including newlines and U+2028
dialogues = st.lists(st.tuples(texts, texts), min_size=1, max_size=4)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pairs=dialogues, system=texts)
def test_format_invariants_hold_for_random_dialogues(tmp_path: Path, pairs: list[tuple[str, str]], system: str) -> None:
    sample = make_sample(pairs, system=system)
    n = len(pairs)
    alpaca = to_record(sample, "alpaca")
    assert (alpaca["instruction"], alpaca["output"]) == pairs[-1]
    assert alpaca["input"] == "" and alpaca["system"] == system
    assert [tuple(p) for p in alpaca["history"]] == pairs[:-1]
    sharegpt = to_record(sample, "sharegpt")
    assert [m["from"] for m in sharegpt["conversations"]] == ["human", "gpt"] * n
    assert [m["value"] for m in sharegpt["conversations"]] == [t for p in pairs for t in p]
    messages = to_record(sample, "openai")["messages"]
    assert (messages[0] == {"role": "system", "content": system}) == bool(system)
    body = messages[1:] if system else messages
    assert [m["role"] for m in body] == ["user", "assistant"] * n
    for fmt in EXPORT_FORMATS:
        lines = list(iter_jsonl_lines([sample], fmt))
        assert len(lines) == 1 and lines[0].endswith("\n") and lines[0].count("\n") == 1
        assert json.loads(lines[0]) == to_record(sample, fmt)
    path = tmp_path / "h.jsonl"
    write_jsonl([sample, sample], "raw", path)
    assert read_raw_jsonl(path) == [sample, sample]
