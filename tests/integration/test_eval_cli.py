"""``dialogforge eval`` through the real stack: a subprocess CLI that reads the same settings as every
command (DIALOGFORGE_LLM_BASE_URL, DIALOGFORGE_JUDGE_MODEL) against an OpenAI-compatible server."""

from __future__ import annotations

import json
import re
from pathlib import Path

from benchmarks.loopback import fake_llm_server
from tests.integration.cli_support import dialogforge

SET = Path(__file__).resolve().parents[2] / "evals" / "sets" / "judge-failures.jsonl"


def test_eval_verdicts_uses_the_configured_judge_endpoint_and_model(tmp_path: Path) -> None:
    with fake_llm_server(0.01) as base_url:
        env = {"DIALOGFORGE_LLM_BASE_URL": base_url, "DIALOGFORGE_JUDGE_MODEL": "judge-m"}
        result = dialogforge("eval", "verdicts", "--data", str(SET), "--out", str(tmp_path / "v"), env=env)
        again = dialogforge("eval", "verdicts", "--data", str(SET), "--out", str(tmp_path / "v"), env=env)
    assert result.returncode == 0, result.stderr
    assert "default plan @ judge-m: rejected 0/10 failures, passed 20/20 good" in result.stderr  # the fake passes all
    assert again.returncode == 0 and again.stdout == result.stdout  # from the cache
    payload = json.loads((tmp_path / "v" / "default-judge-m" / "verdicts.json").read_text(encoding="utf-8"))
    assert len(payload["items"]) == 30 and payload["summary"][-1]["language"] == "all"


def test_eval_reports_bad_input_in_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "style": "gentle"}\n', encoding="utf-8")
    result = dialogforge(
        "eval", "verdicts", "--data", str(bad), env={"DIALOGFORGE_LLM_BASE_URL": "http://127.0.0.1:9/v1"}
    )
    assert (
        result.returncode == 2
        and "column(s) 'language', 'label', 'kind', 'user', 'assistant' not found" in result.stderr
    )


def test_eval_position_prints_flips_and_agreement_through_the_configured_endpoint() -> None:
    coherence = SET.parent / "coherence_en.jsonl"
    with fake_llm_server(0.01, mechanical=True) as base_url:  # answers arbitrary valid A/B/tie choices
        result = dialogforge(
            "eval", "position", "--data", str(coherence), "--score", "score", "--criterion", "coherence",
            "--pairs", "6", env={"DIALOGFORGE_LLM_BASE_URL": base_url, "DIALOGFORGE_JUDGE_MODEL": "judge-m"},
        )  # fmt: skip
    assert result.returncode == 0, result.stderr
    found = re.search(
        r"coherence_en coherence @ judge-m: 6 pairs, flip rate [\d.]+ \(kept the first place \d+, the second \d+, "
        r"unreadable (\d+)\); of the (\d+) answered the same both ways, (\d+)/(\d+) pick",
        result.stdout,
    )
    assert found, result.stdout
    unreadable, consistent, agree, rated = map(int, found.groups())
    assert rated == consistent and agree <= rated and unreadable + consistent <= 6


def test_eval_verdicts_refuses_an_unknown_criterion_in_one_line() -> None:
    env = {"DIALOGFORGE_LLM_BASE_URL": "http://127.0.0.1:9/v1"}
    result = dialogforge("eval", "verdicts", "--data", str(SET), "--criteria", "coherence,tone", env=env)
    assert result.returncode == 2
    assert "error: --criteria: tone not in the rubrics (" in " ".join(result.stderr.split())
