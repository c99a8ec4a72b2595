"""A grounded sample through the graph: passages retrieved for the topic, cited, checked and judged against."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from agents.paths import PROMPTS_DIR
from agents.styles import builtin_styles
from benchmarks.fake_llm import fake_answer
from graph.knowledge import Grounding, KnowledgeIndex
from graph.memory import open_client
from graph.runner import JobRunner
from tests.fakes import FakeEmbedder
from tests.graph.loop_support import Script, make_deps, run_one

BANK = builtin_styles()["bank-cs"].model_copy(update={"min_exemplar_similarity": None})


def grounded_deps(tmp_path: Path, script: Script, required: bool = True):  # type: ignore[no-untyped-def]
    deps = make_deps(tmp_path, script, pack=BANK)
    index = KnowledgeIndex(open_client(tmp_path), "bank", FakeEmbedder())
    index.index(PROMPTS_DIR / "knowledge" / "bank-cs")
    return replace(deps, grounding=Grounding(index, top_k=3, required=required)), index


async def test_a_grounded_sample_cites_passages_that_exist(tmp_path: Path) -> None:
    script = Script()
    deps, index = grounded_deps(tmp_path, script)
    runner = JobRunner(deps, 1, concurrency=1, topic="逾期90天以上会怎样")
    summary = await runner.run()
    assert summary.accepted == 1, summary.rejected_by_reason
    (sample,) = runner.accepted
    assert sample.lineage.knowledge == "bank" and sample.lineage.passages
    assert len(index.get(sample.lineage.passages)) == len(sample.lineage.passages)
    generator_prompt, judge_prompt = script.prompts["generator"][0], script.prompts["judge"][0]
    assert "Reference passages (the only facts the assistant may state):" in generator_prompt
    for pid in sample.lineage.passages:
        assert f"[{pid}]" in generator_prompt and f"[{pid}]" in judge_prompt
    judge_schema = script.schemas["judge"][0]["schema"]
    assert judge_schema["properties"]["correctness"]["$ref"].endswith("GroundedCriterionScore")
    assert judge_schema["properties"]["empathy"]["$ref"].endswith("/CriterionScore")


def uncited(prompt: str, call: int) -> str:
    draft = json.loads(fake_answer(prompt, "DraftAnswer"))
    for exchange in draft["exchanges"]:
        exchange["cited"] = []
    return json.dumps(draft, ensure_ascii=False)


async def test_a_reply_citing_nothing_goes_to_rewrite_without_a_judge_call(tmp_path: Path) -> None:
    script = Script(generator=uncited)
    deps, _ = grounded_deps(tmp_path, script)
    state = await run_one(deps, topic="积分快过期了怎么处理")
    assert state["status"] == "accepted" and script.count("judge") == 1 and script.count("rewriter") == 1
    first = state["attempts"][0]
    assert first.failure_codes == ["ungrounded"] and "cites no passage" in first.check_failures[0]
    assert "Reference passages" in script.prompts["rewriter"][0]


async def test_optional_grounding_does_not_require_citations(tmp_path: Path) -> None:
    script = Script(generator=uncited)
    deps, _ = grounded_deps(tmp_path, script, required=False)
    state = await run_one(deps, topic="积分快过期了怎么处理")
    assert state["status"] == "accepted" and script.count("rewriter") == 0
