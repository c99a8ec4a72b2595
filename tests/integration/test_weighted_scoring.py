"""Weighted scoring asked of an endpoint without logprobs: one line and exit 2, or sampled when allowed."""

from __future__ import annotations

from pathlib import Path

from benchmarks.loopback import fake_llm_server
from tests.integration.cli_support import dialogforge


def test_weighted_scoring_without_logprobs_says_so_or_falls_back(tmp_path: Path) -> None:
    with fake_llm_server(0.01) as base_url:  # the fake returns no logprobs
        env = {"DIALOGFORGE_LLM_BASE_URL": base_url, "DIALOGFORGE_DATA_DIR": str(tmp_path / "d"),
               "DIALOGFORGE_JUDGE_SCORING": "weighted"}  # fmt: skip
        refused = dialogforge("generate", "--style", "gentle", "-n", "1", "-o", str(tmp_path / "a.jsonl"), env=env)
        allowed = dialogforge(
            "generate", "--style", "gentle", "-n", "1", "-o", str(tmp_path / "b.jsonl"),
            env={**env, "DIALOGFORGE_JUDGE_SAMPLED_FALLBACK": "true"},
        )  # fmt: skip
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines()[-1].startswith("error: the judge endpoint returns no log-probabilities")
    assert allowed.returncode == 0, allowed.stderr
    assert "using sampled scores" in allowed.stderr
