"""End to end through real parts: the CLI in a subprocess against an OpenAI-compatible HTTP server,
real e5 embeddings and Chroma on disk; and a small job on the real embedded model."""

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from agents.embedding_cache import CachingEmbedder
from agents.embeddings import make_embedder
from agents.judge_plan import plan_for
from agents.llm import RoleModels
from agents.styles import builtin_styles
from benchmarks.loopback import fake_llm_server
from graph.memory import TopicMemory
from graph.nodes import LoopDeps
from graph.progress import Budget
from graph.runner import JobRunner
from graph.topic_planner import TopicPlanner
from tests.integration.cli_support import dialogforge


@pytest.fixture
def fake_llm_url() -> Iterator[str]:
    with fake_llm_server(0.05) as base_url:
        yield base_url


def test_cli_job_over_http_with_real_embeddings_and_chroma(fake_llm_url: str, tmp_path: Path) -> None:
    env = {"DIALOGFORGE_LLM_BASE_URL": fake_llm_url, "DIALOGFORGE_DATA_DIR": str(tmp_path / "data")}
    output = tmp_path / "out" / "cs.jsonl"
    result = dialogforge(
        "generate", "--style", "empathetic-cs", "-n", "6", "-f", "alpaca", "-o", str(output),
        "--report", str(tmp_path / "report"), "--workspace", "team", env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert len(records) == 6 and len({record["instruction"] for record in records}) == 6
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert report["summary"]["accepted"] == 6 and report["summary"]["diversity"]["n"] == 6
    assert (tmp_path / "data" / "chroma").is_dir()

    # A second job in the same workspace sees the first one's samples in its memory.
    again = dialogforge(
        "generate", "--style", "empathetic-cs", "-n", "2", "-o", str(tmp_path / "again.jsonl"),
        "--workspace", "team", "-f", "raw", env=env,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    first_inputs = {record["instruction"] for record in records}
    for line in (tmp_path / "again.jsonl").read_text(encoding="utf-8").splitlines():
        sample = json.loads(line)
        user = sample["turns"][0]["content"]
        assert user not in first_inputs


@pytest.mark.embedded
async def test_small_job_on_the_embedded_model(embedded_models: RoleModels, tmp_path: Path) -> None:
    pack = builtin_styles()["gentle"]
    embedder = CachingEmbedder(make_embedder("e5"))
    memory = TopicMemory(tmp_path, "e2e", pack.name, embedder)
    deps = LoopDeps(
        pack=pack,
        models=embedded_models,
        memory=memory,
        embedder=embedder,
        planner=TopicPlanner(pack, memory, embedded_models.topics),
        judge_plan=plan_for(pack.rubric),
    )
    runner = JobRunner(deps, 2, concurrency=2, budget=Budget(max_attempts=16))
    summary = await runner.run()

    assert summary.accepted == 2, summary.rejected_by_reason
    for sample in runner.accepted:
        assert [turn.role for turn in sample.turns] == ["user", "assistant"]
        assert any(marker in sample.assistant_text() for marker in pack.markers)
        verdict = sample.verdict
        assert verdict is not None and verdict.passed
        assert sample.lineage.tokens["generator"].calls >= 1 and sample.lineage.models["judge"]
    assert memory.count() == 2
    assert summary.diversity is not None and summary.diversity.n == 2
