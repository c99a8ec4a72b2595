"""Admission through the real stack: ChatOpenAI against the fake provider in a subprocess on loopback.

The fake enforces an RPM limit with 429 + Retry-After and x-ratelimit headers; the CLI runs as a
user's shell runs it, and the fake counts the calls in flight.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from langchain_core.messages import HumanMessage

from agents.llm import LLMConfig, build_role_models
from benchmarks.loopback import fake_llm_server
from tests.integration.cli_support import dialogforge


def health(base_url: str) -> dict[str, int]:
    return httpx.get(base_url.removesuffix("/v1") + "/health", timeout=5, trust_env=False).json()


async def test_429s_halve_the_limit_and_every_call_still_succeeds() -> None:
    with fake_llm_server(0.05, rpm=300) as base_url:  # a bucket of 50 requests, then 5 a second
        models = build_role_models(LLMConfig(max_retries=20, timeout_s=60), base_url)
        answers = await asyncio.gather(*(models.judge.ainvoke([HumanMessage(f"call {i}")]) for i in range(100)))
        served = health(base_url)
    assert len(answers) == 100 and all(answer.content for answer in answers)
    assert models.admission is not None
    stats = models.admission.stats()
    assert served["throttled"] > 0, served
    assert stats.throttled == served["throttled"], (stats, served)  # the hook saw every refusal, retried ones too
    assert stats.limit < 100, stats  # halved from the calls in flight
    assert stats.rpm == 300, stats  # learnt from x-ratelimit-limit-requests
    assert stats.in_flight == 0


def test_cli_states_its_limits_first_and_runs_more_than_8_calls_at_once(tmp_path: Path) -> None:
    with fake_llm_server(0.5) as base_url:
        env = {"DIALOGFORGE_LLM_BASE_URL": base_url, "DIALOGFORGE_DATA_DIR": str(tmp_path / "data")}
        result = dialogforge(
            "generate", "--style", "empathetic-cs", "-n", "16", "--concurrency", "16",
            "-o", str(tmp_path / "out.jsonl"), "--rpm", "6000", env=env,
        )  # fmt: skip
        served = health(base_url)
    assert result.returncode == 0, result.stderr
    first = result.stderr.splitlines()[0]
    assert first.startswith("concurrency 16; LLM calls in flight: up to 16 (no cap set"), first
    assert "RPM 6000" in first and "TPM off" in first and "embedder e5" in first
    assert 8 < served["max_in_flight"] <= 16, served  # not the old silent cap; brainstorms within the 16
    assert "429/503 answers 0" in result.stdout


def test_a_cap_below_the_concurrency_is_stated(tmp_path: Path) -> None:
    with fake_llm_server(0.05) as base_url:
        env = {
            "DIALOGFORGE_LLM_BASE_URL": base_url,
            "DIALOGFORGE_DATA_DIR": str(tmp_path / "data"),
            "DIALOGFORGE_LLM_MAX_CONCURRENCY": "2",
        }
        result = dialogforge(
            "generate", "--style", "empathetic-cs", "-n", "4", "--concurrency", "6",
            "-o", str(tmp_path / "out.jsonl"), env=env,
        )  # fmt: skip
        served = health(base_url)
    assert result.returncode == 0, result.stderr
    first = result.stderr.splitlines()[0]
    assert "LLM calls in flight: at most 2 (DIALOGFORGE_LLM_MAX_CONCURRENCY=2, below --concurrency 6)" in first
    assert served["max_in_flight"] <= 2
