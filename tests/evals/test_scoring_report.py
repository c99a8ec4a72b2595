"""Scoring judges (pointwise, pairwise with ties, human ceiling), the report files and the CLI."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage
from typer.testing import CliRunner

from evals.cli import make_eval_app
from evals.datasets import LabelledItem, LabelledSet, PairwiseItem, PairwiseSet, Scale, item_key
from evals.judges import Judgement
from evals.report import markdown_table, write_report
from evals.runtime import FixedRuntime
from evals.scoring import human_ceiling, score_pairwise, score_pointwise
from tests.fakes import ScriptedChatModel


def labelled(labels: list[float], annotators: list[tuple[float, ...]] | None = None) -> LabelledSet:
    rows = annotators or [() for _ in labels]
    items = [LabelledItem(i, f"text {i}", "", label, rows[i]) for i, label in enumerate(labels)]
    return LabelledSet("toy", Scale(0, 2), items, ["a1", "a2", "a3"] if annotators else [])


def test_pointwise_perfect_judge_and_parse_failures() -> None:
    data = labelled([0, 1, 2, 0, 1, 2, 2, 0])
    judgements = {item.key: Judgement(score=1 + 2 * item.label, input_tokens=5, seconds=2.0) for item in data.items}
    judgements[data.items[0].key] = Judgement(score=None, error="bad json", seconds=2.0)
    row = score_pointwise(data, "perfect", judgements, bootstrap=200)
    assert row.scored == 7 and row.items == 8
    assert row.parse_failure_rate == pytest.approx(1 / 8)
    assert row.metrics["spearman"].value == pytest.approx(1.0)
    assert row.metrics["qwk"].value == 1.0 and row.metrics["exact"].value == 1.0
    assert row.metrics["pairwise"].value == 1.0
    assert row.tokens_per_judgement == pytest.approx(5 * 7 / 8)
    assert row.seconds_per_judgement == 2.0


def test_human_ceiling_against_known_values() -> None:
    annotators = [(0, 0, 1), (1, 1, 1), (2, 2, 2), (0, 1, 0), (2, 1, 2)]
    data = labelled([0, 1, 2, 0, 2], annotators)
    row = human_ceiling(data)
    assert row is not None and row.judge == "human ceiling"
    # leave-one-out medians rounded half up; exact agreement per annotator: 3/5, 2/5, 3/5
    assert row.metrics["exact"].value == pytest.approx((0.6 + 0.4 + 0.6) / 3)
    assert row.metrics["within_one"].value == 1.0
    assert human_ceiling(labelled([0, 1])) is None


def test_pairwise_with_ties() -> None:
    items = [
        PairwiseItem(1, "good", "bad", "", "a"),
        PairwiseItem(2, "bad", "good", "", "b"),
        PairwiseItem(3, "good", "good2", "", "tie"),
        PairwiseItem(4, "bad", "good", "", "a"),
    ]
    data = PairwiseSet("pairs", items)
    scores = {"good": 5.0, "good2": 5.0, "bad": 2.0}
    judgements = {item_key(text): Judgement(score=value) for text, value in scores.items()}
    keys = [(item_key(i.text_a), item_key(i.text_b)) for i in items]
    row = score_pairwise(data, "j", judgements, keys, bootstrap=0)
    # decided pairs: hit, hit, miss -> 2/3; with ties: hit, hit, hit (tie), miss -> 3/4
    assert row.metrics["pairwise"].value == pytest.approx(2 / 3)
    assert row.metrics["pairwise_ties"].value == pytest.approx(3 / 4)
    assert row.scored == 4


def test_report_files(tmp_path: Path) -> None:
    data = labelled([0, 1, 2, 0, 1, 2], [(0, 0, 1), (1, 1, 2), (2, 2, 2), (0, 1, 0), (1, 1, 1), (2, 1, 2)])
    judgements = {item.key: Judgement(score=1 + 2 * item.label) for item in data.items}
    rows = [score_pointwise(data, "p @ m", judgements, bootstrap=100), human_ceiling(data)]
    paths = write_report([row for row in rows if row], tmp_path, {"command": "dialogforge eval judges --x"})
    assert "| toy | *human ceiling* |" in paths["md"].read_text()
    assert "`dialogforge eval judges --x`" in paths["md"].read_text()
    assert json.loads(paths["json"].read_text())["rows"][0]["judge"] == "human ceiling"
    assert paths["png"].read_bytes()[:4] == b"\x89PNG"
    assert "p @ m" in markdown_table([row for row in rows if row])


def responder(messages: list[BaseMessage], options: dict[str, Any]) -> str:
    text = str(messages[-1].content).lower()
    score = 5 if "sorry" in text else 3 if "thank" in text else 1
    return json.dumps({"empathy": {"reason": "r", "score": score}, "feedback": ""})


def test_cli_with_injected_models(tmp_path: Path) -> None:
    csv = "response,a1,a2,a3,median\n" + "".join(
        f"{text} {i},{lab},{lab},{lab},{lab}\n"
        for i in range(4)
        for text, lab in (("I'm sorry", 2), ("Thank you", 1), ("Press continue", 0))
    )
    (tmp_path / "d.csv").write_text(csv)
    model = ScriptedChatModel(responder=responder, calls=[])
    asked: list[list[str]] = []

    @contextlib.contextmanager
    def provide(names: list[str]) -> Iterator[dict[str, BaseChatModel]]:
        asked.append(names)
        yield {"scripted": model}

    app = make_eval_app(FixedRuntime(provide))
    args = [
        "judges",
        "--data",
        str(tmp_path / "d.csv"),
        "--score",
        "median",
        "--annotators",
        "a1,a2,a3",
        "--prompts",
        "rubric,anchored",
        "--no-baseline",
        "--out",
        str(tmp_path / "out"),
        "--bootstrap",
        "50",
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert len(model.calls) == 24 and asked == [[]]
    table = (tmp_path / "out" / "leaderboard.md").read_text()
    assert "rubric @ scripted" in table and "anchored @ scripted" in table
    again = CliRunner().invoke(app, args)
    assert again.exit_code == 0 and len(model.calls) == 24  # all cached


@contextlib.contextmanager
def unused_provider(names: list[str]) -> Iterator[dict[str, BaseChatModel]]:
    raise AssertionError("no model should be built")
    yield {}


def test_cli_reports_mapping_errors(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("reply,score\nhi,1\n")
    result = CliRunner().invoke(
        make_eval_app(FixedRuntime(unused_provider)),
        ["judges", "--data", str(tmp_path / "d.csv"), "--score", "score", "--prompts", "none"],
    )
    assert result.exit_code == 2
    assert "available columns: reply, score" in result.output


def test_cli_pairwise_with_column_mapping(tmp_path: Path) -> None:
    rows = (
        "ctx,left,right,winner\nI failed,I'm so sorry,Press continue,a\nhi,Press continue,Thank you,B\nyo,Ok,Fine,tie\n"
    )
    (tmp_path / "p.csv").write_text(rows)
    model = ScriptedChatModel(responder=responder, calls=[])

    @contextlib.contextmanager
    def provide(names: list[str]) -> Iterator[dict[str, BaseChatModel]]:
        yield {"scripted": model}

    args = ["judges", "--data", str(tmp_path / "p.csv"), "--pairwise", "--context", "ctx", "--text-a", "left",
            "--text-b", "right", "--preference", "winner", "--prompts", "rubric", "--no-baseline",
            "--out", str(tmp_path / "out"), "--bootstrap", "0"]  # fmt: skip
    result = CliRunner().invoke(make_eval_app(FixedRuntime(provide)), args)
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "out" / "leaderboard.json").read_text())
    row = data["rows"][0]
    assert row["metrics"]["pairwise"]["value"] == 1.0  # both decided pairs right
    assert row["metrics"]["pairwise_ties"]["value"] == 1.0  # Ok vs Fine: both 1 -> tie
    assert "User: I failed" in str(model.calls[0][0][-1].content)
