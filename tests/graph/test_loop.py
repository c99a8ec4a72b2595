"""One sample through the graph: accept, checks, judge, rewrites, parse failures, duplicates."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from agents.prompting import judge_prompt, role_prompt
from agents.schemas import TokenUsage
from graph.progress import Budget
from graph.runner import JobRunner
from graph.state import LoopConfig
from tests.fakes import RecordingEmbedder
from tests.graph.loop_support import (
    GENTLE,
    MARKER_RULE,
    Script,
    first_calls,
    judge_scores,
    make_deps,
    markerless,
    not_json,
    run_one,
    same_dialogue,
)

# ------------------------------------------------------------------ one sample


async def test_happy_sample_accepted_with_lineage(tmp_path: Path) -> None:
    script = Script()
    deps = make_deps(tmp_path, script)
    runner = JobRunner(deps, 1, concurrency=1)
    summary = await runner.run()

    assert summary.accepted == 1 and summary.rejected == 0 and summary.stop_reason == "completed"
    (sample,) = runner.accepted
    assert sample.status == "accepted" and sample.reject_reason is None
    assert sample.system == GENTLE.system_prompt
    assert [turn.role for turn in sample.turns] == ["user", "assistant"]
    assert len(sample.attempts) == 1 and sample.rewrites == 0
    assert sample.verdict is not None and sample.verdict.passed

    lineage = sample.lineage
    assert lineage.style == "gentle" and lineage.workspace == "ws"
    assert lineage.job_id == summary.job_id
    assert lineage.topic in GENTLE.topics and lineage.topic in sample.user_text()
    assert lineage.models == {"generator": "fake", "judge": "fake", "rewriter": "fake", "topics": "fake"}
    assert lineage.prompt_hashes == {
        "generator": role_prompt("generator").digest,
        "rewriter": role_prompt("rewriter").digest,
        "topics": role_prompt("topics").digest,
        "judge/anchored": judge_prompt().digest,
        "style": GENTLE.digest(),
    }
    one_call = TokenUsage(calls=1, input_tokens=10, output_tokens=10)
    assert lineage.tokens == {"generator": one_call, "judge": one_call}
    assert lineage.finished_at is not None and lineage.started_at <= lineage.finished_at

    assert deps.memory.accepted_user_texts() == [sample.user_text()]
    assert deps.memory.reserved() == []
    assert script.count("generator") == 1 and script.count("judge") == 1 and script.count("rewriter") == 0


async def test_check_failure_goes_to_rewrite_without_judge_call(tmp_path: Path) -> None:
    script = Script(generator=markerless)
    state = await run_one(make_deps(tmp_path, script))

    assert state["status"] == "accepted"
    first, second = state["attempts"]
    assert first.kind == "generate" and first.verdict is None
    assert len(first.check_failures) == 1 and first.check_failures[0].startswith(MARKER_RULE)
    assert second.kind == "rewrite" and second.check_failures == [] and second.verdict.passed
    assert state["rewrites"] == 1
    assert script.count("rewriter") == 1
    assert f"- {MARKER_RULE}" in script.prompts["rewriter"][0]
    assert first.turns[1].content in script.prompts["rewriter"][0]
    assert script.count("judge") == 1  # only the repaired version was judged
    assert first.turns[1].content not in script.prompts["judge"][0]
    assert set(state["usage"]) == {"generator", "rewriter", "judge"}


async def test_judge_reasons_and_feedback_reach_rewriter(tmp_path: Path) -> None:
    failing = judge_scores(reasons={"style": "没有颜文字"}, feedback="加一个颜文字", style=2)
    script = Script(judge=first_calls(failing))
    state = await run_one(make_deps(tmp_path, script))

    assert state["status"] == "accepted"
    first, second = state["attempts"]
    assert first.verdict is not None and first.verdict.failing == ["style"]
    assert second.kind == "rewrite" and second.verdict is not None and second.verdict.passed
    rewriter_prompt = script.prompts["rewriter"][0]
    assert "- style scored 2/5 (needs 4): 没有颜文字" in rewriter_prompt
    assert "- judge feedback: 加一个颜文字" in rewriter_prompt
    assert script.count("judge") == 2


@pytest.mark.parametrize("max_rewrites", [0, 1, 3])
async def test_rewrite_bound(tmp_path: Path, max_rewrites: int) -> None:
    script = Script(generator=markerless, rewriter=markerless)
    state = await run_one(make_deps(tmp_path, script, config=LoopConfig(max_rewrites=max_rewrites)))

    assert state["status"] == "rejected"
    assert state["rewrites"] == max_rewrites
    assert [attempt.kind for attempt in state["attempts"]] == ["generate"] + ["rewrite"] * max_rewrites
    assert all(len(a.check_failures) == 1 and a.check_failures[0].startswith(MARKER_RULE) for a in state["attempts"])
    assert state["reject_reason"].startswith(f"marker_missing: {MARKER_RULE}")
    assert script.count("rewriter") == max_rewrites
    assert script.count("judge") == 0


@pytest.mark.parametrize("max_rewrites", [2, 10])
async def test_judge_failure_bound(tmp_path: Path, max_rewrites: int) -> None:
    script = Script(judge=judge_scores(reasons={"style": "太生硬"}, style=1))
    state = await run_one(make_deps(tmp_path, script, config=LoopConfig(max_rewrites=max_rewrites)))

    assert state["status"] == "rejected"
    assert state["reject_reason"] == "judge:style: style scored 1/5 (needs 4): 太生硬"
    assert script.count("judge") == max_rewrites + 1 and script.count("rewriter") == max_rewrites
    assert state["usage"]["judge"].calls == max_rewrites + 1


async def test_unparseable_draft_is_routed_like_a_failure(tmp_path: Path) -> None:
    script = Script(generator=not_json)
    state = await run_one(make_deps(tmp_path, script))

    assert state["status"] == "accepted"
    first = state["attempts"][0]
    assert first.raw == "not json" and first.turns == []
    assert first.parse_error is not None and "DraftAnswer" in first.parse_error
    rewriter_prompt = script.prompts["rewriter"][0]
    assert "(the previous answer could not be read)" in rewriter_prompt
    assert "the answer was not valid JSON for the sample schema" in rewriter_prompt
    assert script.count("judge") == 1


async def test_unparseable_answers_until_the_bound_are_rejected(tmp_path: Path) -> None:
    script = Script(generator=not_json, rewriter=not_json)
    state = await run_one(make_deps(tmp_path, script, config=LoopConfig(max_rewrites=2)))

    assert state["status"] == "rejected"
    assert state["reject_reason"].startswith("parse: the answer was not valid JSON")
    assert [attempt.raw for attempt in state["attempts"]] == ["not json"] * 3
    assert script.count("judge") == 0


async def test_unparseable_judge_answer_is_a_failure(tmp_path: Path) -> None:
    script = Script(judge=not_json)
    state = await run_one(make_deps(tmp_path, script, config=LoopConfig(max_rewrites=0)))

    assert state["status"] == "rejected"
    assert state["reject_reason"].startswith("judge_parse: the judge could not read the sample")
    assert state["attempts"][0].verdict.raw == "not json"


async def test_near_duplicate_is_rejected_before_judge(tmp_path: Path) -> None:
    script = Script(generator=same_dialogue)
    deps = make_deps(tmp_path, script, config=LoopConfig(max_rewrites=0))
    first = await run_one(deps, "s1", topic="下雨天没带伞")
    assert first["status"] == "accepted"
    judged = script.count("judge")

    second = await run_one(deps, "s2", topic="下雨天没带伞")
    assert (
        "Already covered (do not repeat these situations or phrasings):\n- 最近下雨天没带伞的事让我有点烦"
        in (script.prompts["generator"][1])
    )
    assert second["status"] == "rejected"
    assert second["failure_code"] == "near_duplicate"
    assert second["reject_reason"].startswith("near_duplicate: the sample nearly duplicates an accepted one")
    assert script.count("judge") == judged
    assert deps.memory.count() == 1


async def test_a_duplicate_is_rejected_before_its_replies_are_embedded(tmp_path: Path) -> None:
    new_reply = "下雨天确实让人心情低落呢，回家先洗个热水澡呀"

    def same_user_new_reply(prompt: str, call: int) -> str:
        dialogue = json.loads(same_dialogue(prompt, call))
        if call > 1:
            dialogue["exchanges"][0]["assistant"] = new_reply
        return json.dumps(dialogue, ensure_ascii=False)

    recording = RecordingEmbedder()  # the checks' embedder (same vectors as the memory's FakeEmbedder)
    deps = replace(make_deps(tmp_path, Script(generator=same_user_new_reply)), embedder=recording)
    assert (await run_one(deps, "s1", topic="下雨天没带伞"))["status"] == "accepted"
    second = await run_one(deps, "s2", topic="下雨天没带伞")
    assert second["failure_code"] == "near_duplicate" and second["rewrites"] == 0
    assert new_reply not in recording.seen


async def test_with_prefetch_the_replies_are_embedded_during_the_duplicate_check(tmp_path: Path) -> None:
    """A remote embedder's setting: the reply's round trip overlaps the near-duplicate check's."""
    import asyncio
    import threading

    reply_seen = threading.Event()

    class NoticesReplies(RecordingEmbedder):
        def embed(self, texts):  # type: ignore[no-untyped-def]
            if any("呢" in text or "呀" in text for text in texts):  # a gentle reply (user turns have neither)
                reply_seen.set()
            return super().embed(texts)

    deps = make_deps(tmp_path, Script(), config=LoopConfig(max_rewrites=0, prefetch_reply_embeddings=True))
    memory = deps.memory
    near_duplicate = memory.anear_duplicate

    async def check_waiting_for_the_reply(text: str, threshold: float):  # type: ignore[no-untyped-def]
        assert await asyncio.to_thread(reply_seen.wait, 5), "the reply was not embedded during the check"
        return await near_duplicate(text, threshold)

    memory.anear_duplicate = check_waiting_for_the_reply  # type: ignore[method-assign]
    deps = replace(deps, embedder=NoticesReplies())
    assert (await run_one(deps, "s1"))["status"] == "accepted"


async def test_concurrent_duplicates_only_one_accepted(tmp_path: Path) -> None:
    deps = make_deps(tmp_path, Script(generator=same_dialogue), config=LoopConfig(max_rewrites=0))
    runner = JobRunner(deps, 2, concurrency=2, topic="下雨天没带伞", budget=Budget(max_attempts=4))
    summary = await runner.run()

    assert summary.accepted == 1 and summary.rejected == 3
    assert summary.rejected_by_reason == {"near_duplicate": 3}
    assert summary.stop_reason == "budget_attempts"
    assert deps.memory.count() == 1
