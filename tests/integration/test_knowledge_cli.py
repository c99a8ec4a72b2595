"""Knowledge through the real stack: the CLI in subprocesses, real e5 embeddings, Chroma on disk, and a
grounded bank-cs job against an OpenAI-compatible server (and, marked embedded, on the real model)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from agents.embedding_cache import CachingEmbedder
from agents.embeddings import make_embedder
from agents.grounding import check_grounding
from agents.judge_plan import plan_for
from agents.llm import RoleModels
from agents.paths import PROMPTS_DIR
from agents.styles import builtin_styles
from benchmarks.loopback import fake_llm_server
from graph.knowledge import open_named, resolve_grounding
from graph.memory import TopicMemory, open_client
from graph.nodes import LoopDeps
from graph.progress import Budget
from graph.runner import JobRunner
from graph.topic_planner import TopicPlanner
from tests.integration.cli_support import dialogforge

BANK = PROMPTS_DIR / "knowledge" / "bank-cs"


def test_index_search_list_and_a_grounded_job(tmp_path: Path) -> None:
    folder = tmp_path / "card-rules"
    shutil.copytree(BANK, folder)
    env = {"DIALOGFORGE_DATA_DIR": str(tmp_path / "data")}

    first = dialogforge("knowledge", "index", str(folder), "--name", "card-rules", env=env)
    assert first.returncode == 0, first.stderr
    assert "from 4 files (4 indexed, 0 unchanged, 0 removed)" in first.stdout
    again = dialogforge("knowledge", "index", str(folder), "--name", "card-rules", env=env)
    assert "(0 indexed, 4 unchanged, 0 removed)" in again.stdout

    found = dialogforge("knowledge", "search", "card-rules", "逾期90天以上怎么处理", env=env)
    assert found.returncode == 0, found.stderr
    assert found.stdout.split()[0].startswith("overdue.md#") and "90天" in found.stdout
    listed = dialogforge("knowledge", "list", env=env)
    assert listed.stdout.startswith("card-rules: ") and "passages" in listed.stdout

    missing = dialogforge("knowledge", "index", str(tmp_path / "nope"), env=env)
    assert missing.returncode == 2 and missing.stderr.strip() == f"error: knowledge file not found: {tmp_path / 'nope'}"
    unknown = dialogforge("knowledge", "search", "other", "x", env=env)
    assert unknown.returncode == 2 and "unknown knowledge set 'other' (indexed: card-rules)" in unknown.stderr

    with fake_llm_server(0.01) as base_url:
        job_env = {**env, "DIALOGFORGE_LLM_BASE_URL": base_url}
        out = tmp_path / "bank.jsonl"
        job = dialogforge(
            "generate", "--style", "bank-cs", "--knowledge", "card-rules", "-n", "2", "-f", "raw", "-o", str(out),
            env=job_env,
        )  # fmt: skip
        bad = dialogforge("generate", "--style", "gentle", "--knowledge", "docs/nope/", "-n", "1", env=job_env)
    assert job.returncode == 0, job.stderr
    assert bad.returncode == 2 and bad.stderr.strip() == "error: knowledge file not found: docs/nope/"
    samples = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(samples) == 2
    assert all(sample["lineage"]["knowledge"] == "card-rules" and sample["lineage"]["passages"] for sample in samples)
    cited = sorted({pid for sample in samples for pid in sample["lineage"]["passages"]})
    index = open_named(open_client(tmp_path / "data"), "card-rules", make_embedder("e5"))
    assert [passage.id for passage in index.get(cited)] == cited  # every cited passage exists


@pytest.mark.embedded
async def test_grounded_bank_samples_on_the_embedded_model(embedded_models: RoleModels, tmp_path: Path) -> None:
    pack = builtin_styles()["bank-cs"]
    embedder = CachingEmbedder(make_embedder("e5"))
    client = open_client(tmp_path)
    grounding, _ = resolve_grounding(client, embedder, pack)
    assert grounding is not None
    memory = TopicMemory(tmp_path, "e2e", pack.name, embedder, client=client)
    deps = LoopDeps(
        pack=pack,
        models=embedded_models,
        memory=memory,
        embedder=embedder,
        planner=TopicPlanner(pack, memory, embedded_models.topics),
        judge_plan=plan_for(pack.rubric),
        grounding=grounding,
    )
    runner = JobRunner(deps, 1, concurrency=2, budget=Budget(max_attempts=6), topic="逾期90天以上会怎样")
    summary = await runner.run()
    assert summary.accepted == 1, summary.rejected_by_reason
    (sample,) = runner.accepted
    passages = grounding.index.get(sample.lineage.passages)
    assert passages and len(passages) == len(sample.lineage.passages)  # every cited passage exists
    # the numbers the reply states are the ones its passages give (the grounding check, on the final turns)
    assert check_grounding(sample.turns, [sample.lineage.passages], passages) == []
    verdict = sample.verdict
    assert verdict is not None and verdict.passed
