from __future__ import annotations

import json
import random
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import BaseMessage

from agents.prompting import judge_prompt, role_prompt
from agents.schemas import Sample, TokenUsage
from agents.styles import StylePack, builtin_styles
from benchmarks.fake_llm import fake_answer
from graph.builder import build_graph, recursion_limit
from graph.memory import TopicMemory
from graph.nodes import LoopDeps
from graph.progress import Budget, JobEvent
from graph.runner import MAX_CONSECUTIVE_ERRORS, JobRunner
from graph.state import LoopConfig
from graph.topic_planner import TopicPlanner
from tests.fakes import FakeEmbedder, fake_role_models, prompt_text, schema_name

# The shipped threshold is calibrated for e5; the bigram FakeEmbedder needs seed 000's original 0.40.
GENTLE = builtin_styles()["gentle"].model_copy(update={"min_exemplar_similarity": 0.40})
MARKER_RULE = "reply lacks a style marker: use one of 呀/呢/啦 - for example change"
Override = Callable[[str, int], str]


# ------------------------------------------------------------------ scripted roles


def role_of(messages: list[BaseMessage], options: dict[str, Any]) -> str:
    name = schema_name(options)
    if name == "JudgeAnswer":
        return "judge"
    if name == "TopicBatch":
        return "topics"
    return "rewriter" if "You repair training samples" in prompt_text(messages) else "generator"


class Script:
    """Answers like benchmarks.fake_llm unless a role is overridden; records every prompt per role."""

    def __init__(self, **overrides: Override) -> None:
        self.overrides = overrides
        self.prompts: dict[str, list[str]] = defaultdict(list)

    def __call__(self, messages: list[BaseMessage], options: dict[str, Any]) -> str:
        role, prompt = role_of(messages, options), prompt_text(messages)
        self.prompts[role].append(prompt)
        override = self.overrides.get(role)
        if override is None:
            return fake_answer(prompt, schema_name(options))
        return override(prompt, len(self.prompts[role]))

    def count(self, role: str) -> int:
        return len(self.prompts[role])


def markerless(prompt: str, call: int) -> str:
    dialogue = json.loads(fake_answer(prompt, "Dialogue"))
    for turn in dialogue["turns"]:
        if turn["role"] == "assistant":
            turn["content"] = turn["content"].replace("呢", "").replace("呀", "").replace("啦", "")
    return json.dumps(dialogue, ensure_ascii=False)


def judge_scores(reasons: dict[str, str] | None = None, feedback: str = "", **scores: int) -> Override:
    def answer(prompt: str, call: int) -> str:
        verdict = json.loads(fake_answer(prompt, "JudgeAnswer"))
        for item in verdict["scores"]:
            item["score"] = scores.get(item["criterion"], item["score"])
            item["reason"] = (reasons or {}).get(item["criterion"], item["reason"])
        verdict["feedback"] = feedback
        return json.dumps(verdict, ensure_ascii=False)

    return answer


def first_calls(override: Override, times: int = 1) -> Override:
    """Use ``override`` for the first ``times`` calls of a role, then answer normally."""

    def answer(prompt: str, call: int) -> str:
        if call <= times:
            return override(prompt, call)
        return fake_answer(prompt, "JudgeAnswer" if "Score the criteria" in prompt else "Dialogue")

    return answer


def raising(prompt: str, call: int) -> str:
    raise RuntimeError("model exploded")


def not_json(prompt: str, call: int) -> str:
    return "not json"


def same_dialogue(prompt: str, call: int) -> str:
    turns = [
        {"role": "user", "content": "最近下雨天没带伞的事让我有点烦"},
        {"role": "assistant", "content": "听起来下雨天没带伞真的让你很费心呢，要不要和我说说现在的感受呀？(^_−)☆"},
    ]
    return json.dumps({"turns": turns}, ensure_ascii=False)


# ------------------------------------------------------------------ wiring


def make_deps(
    data_dir: Path,
    script: Script,
    *,
    pack: StylePack = GENTLE,
    workspace: str = "ws",
    config: LoopConfig | None = None,
    brainstorm: bool = True,
    planner_type: type[TopicPlanner] = TopicPlanner,
) -> LoopDeps:
    embedder = FakeEmbedder()
    memory = TopicMemory(data_dir, workspace, pack.name, embedder, rng=random.Random(0))
    models = fake_role_models(script)
    planner = planner_type(pack, memory, models.topics if brainstorm else None)
    return LoopDeps(
        pack=pack,
        models=models,
        memory=memory,
        embedder=embedder,
        planner=planner,
        judge_template=judge_prompt(),
        config=config or LoopConfig(),
    )


async def run_one(deps: LoopDeps, sample_id: str = "s1", topic: str | None = None) -> dict[str, Any]:
    initial: dict[str, Any] = {"sample_id": sample_id, "rewrites": 0, "attempts": [], "usage": {}}
    if topic:
        initial["topic"] = topic
    state = await build_graph(deps).ainvoke(initial, config={"recursion_limit": recursion_limit(deps)})
    deps.planner.release_for(sample_id)
    return state


class Events:
    def __init__(self) -> None:
        self.events: list[JobEvent] = []

    async def __call__(self, event: JobEvent) -> None:
        self.events.append(event)

    def samples(self) -> list[Sample]:
        return [event.sample for event in self.events if event.kind == "sample" and event.sample is not None]


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
    assert first.parse_error is not None and "Dialogue" in first.parse_error
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


async def test_concurrent_duplicates_only_one_accepted(tmp_path: Path) -> None:
    deps = make_deps(tmp_path, Script(generator=same_dialogue), config=LoopConfig(max_rewrites=0))
    runner = JobRunner(deps, 2, concurrency=2, topic="下雨天没带伞", budget=Budget(max_attempts=4))
    summary = await runner.run()

    assert summary.accepted == 1 and summary.rejected == 3
    assert summary.rejected_by_reason == {"near_duplicate": 3}
    assert summary.stop_reason == "budget_attempts"
    assert deps.memory.count() == 1


# ------------------------------------------------------------------ topic steering


class SpyPlanner(TopicPlanner):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.in_flight: dict[str, str] = {}
        self.handed: list[str] = []
        self.clashes: list[str] = []
        self.most_in_flight = 0

    async def next_topic(self, sample_id: str) -> str:
        topic = await super().next_topic(sample_id)
        if topic in self.in_flight.values():
            self.clashes.append(topic)
        self.in_flight[sample_id] = topic
        self.handed.append(topic)
        self.most_in_flight = max(self.most_in_flight, len(self.in_flight))
        return topic

    def release_for(self, sample_id: str) -> None:
        self.in_flight.pop(sample_id, None)
        super().release_for(sample_id)


async def test_consecutive_samples_get_different_listed_topics(tmp_path: Path) -> None:
    deps = make_deps(tmp_path, Script(), brainstorm=False)
    runner = JobRunner(deps, 4, concurrency=1)
    await runner.run()

    topics = [sample.lineage.topic for sample in runner.accepted]
    assert len(set(topics)) == 4
    assert set(topics) <= set(GENTLE.topics)


async def test_planner_never_shares_a_topic_in_flight(tmp_path: Path) -> None:
    script = Script()
    deps = make_deps(tmp_path, script, planner_type=SpyPlanner)
    runner = JobRunner(deps, 10, concurrency=4)
    summary = await runner.run()
    planner = deps.planner
    assert isinstance(planner, SpyPlanner)

    assert summary.accepted == 10
    assert planner.most_in_flight > 1
    assert planner.clashes == []
    assert len(set(planner.handed)) == len(planner.handed)
    assert script.count("topics") >= 1  # the 8 listed topics ran out: brainstormed candidates were used
    assert summary.tokens["topics"].calls == script.count("topics")
    assert deps.memory.reserved() == []


async def test_second_job_in_workspace_avoids_first_jobs_topics(tmp_path: Path) -> None:
    first = JobRunner(make_deps(tmp_path, Script(), workspace="team", brainstorm=False), 3, concurrency=1)
    await first.run()
    first_topics = {sample.lineage.topic for sample in first.accepted}
    assert len(first_topics) == 3

    deps = make_deps(tmp_path, Script(), workspace="team", brainstorm=False)
    assert deps.memory.count() == 3
    second = JobRunner(deps, 3, concurrency=1)
    summary = await second.run()
    assert summary.accepted == 3
    second_topics = {sample.lineage.topic for sample in second.accepted}
    assert second_topics.isdisjoint(first_topics)
    assert deps.memory.count() == 6


async def test_other_workspace_is_independent(tmp_path: Path) -> None:
    topic = "下雨天没带伞"
    config = LoopConfig(max_rewrites=0)
    script = Script(generator=same_dialogue)
    first = await JobRunner(make_deps(tmp_path, script, workspace="team", config=config), 1, topic=topic).run()
    assert first.accepted == 1

    same = await JobRunner(
        make_deps(tmp_path, script, workspace="team", config=config), 1, topic=topic, budget=Budget(max_attempts=1)
    ).run()
    assert same.accepted == 0 and same.rejected_by_reason == {"near_duplicate": 1}

    deps = make_deps(tmp_path, script, workspace="other", config=config)
    assert deps.memory.count() == 0
    other = await JobRunner(deps, 1, topic=topic, budget=Budget(max_attempts=1)).run()
    assert other.accepted == 1 and other.workspace == "other"


# ------------------------------------------------------------------ job runner


async def test_runner_accepts_exactly_n_at_concurrency_4(tmp_path: Path) -> None:
    events = Events()
    deps = make_deps(tmp_path, Script())
    runner = JobRunner(deps, 6, concurrency=4, on_event=events)
    summary = await runner.run()

    assert summary.accepted == 6 and len(runner.accepted) == 6 and summary.complete
    assert deps.memory.count() == 6
    progress = [event.progress for event in events.events]
    assert max(p.in_flight for p in progress) <= 4
    assert all(p.accepted + p.in_flight <= 6 for p in progress)
    assert max(p.in_flight for p in progress) > 1


async def test_runner_events_and_summary(tmp_path: Path) -> None:
    # Generator calls: 1 lacks a marker, 2-4 are fine; the first judge call fails the style.
    script = Script(generator=first_calls(markerless), judge=first_calls(judge_scores(style=2)))
    events = Events()
    deps = make_deps(tmp_path, script, config=LoopConfig(max_rewrites=0), brainstorm=False)
    runner = JobRunner(deps, 2, concurrency=1, on_event=events)
    summary = await runner.run()

    kinds = [event.kind for event in events.events]
    assert kinds == ["started", "sample", "sample", "sample", "sample", "finished"]
    assert events.events[-1].summary == summary
    assert [sample.status for sample in events.samples()] == ["rejected", "rejected", "accepted", "accepted"]
    assert events.samples()[0].reject_reason.startswith(f"marker_missing: {MARKER_RULE}")

    assert summary.accepted == 2 and summary.rejected == 2 and summary.stop_reason == "completed"
    assert summary.rejected_by_reason == {"marker_missing": 1, "judge:style": 1}
    assert summary.llm_calls == 4 + 3
    assert summary.calls_per_accepted == pytest.approx(3.5)
    assert summary.total_tokens == 7 * 20 and summary.tokens_per_accepted == pytest.approx(70.0)
    assert summary.tokens["generator"].calls == 4 and summary.tokens["judge"].calls == 3
    assert summary.rewrites == 0
    assert summary.diversity is not None
    assert summary.style == "gentle" and summary.workspace == "ws" and summary.target == 2
    assert summary.prompt_hashes["style"] == GENTLE.digest()


async def test_runner_budget_attempts(tmp_path: Path) -> None:
    runner = JobRunner(make_deps(tmp_path, Script()), 10, concurrency=2, budget=Budget(max_attempts=3))
    summary = await runner.run()

    assert summary.stop_reason == "budget_attempts"
    assert runner.started == 3
    assert summary.accepted == 3 and not summary.complete


async def test_runner_budget_tokens(tmp_path: Path) -> None:
    # Each good sample costs a generator and a judge call, 20 tokens each.
    deps = make_deps(tmp_path, Script(), brainstorm=False)
    runner = JobRunner(deps, 10, concurrency=1, budget=Budget(max_tokens=50))
    summary = await runner.run()

    assert summary.stop_reason == "budget_tokens"
    assert summary.accepted == 2 and summary.total_tokens == 80


async def test_runner_deadline(tmp_path: Path) -> None:
    summary = await JobRunner(make_deps(tmp_path, Script()), 3, budget=Budget(deadline_s=1e-9)).run()
    assert summary.stop_reason == "deadline" and summary.accepted == 0


async def test_runner_counts_previous_samples(tmp_path: Path) -> None:
    first = JobRunner(make_deps(tmp_path / "a", Script()), 1)
    await first.run()
    script = Script()
    resumed = JobRunner(make_deps(tmp_path / "b", script), 3, previous=first.accepted)
    summary = await resumed.run()
    assert summary.accepted == 3 and script.count("generator") == 2


async def test_runner_cancel_stops_starting_samples(tmp_path: Path) -> None:
    started_at_cancel: list[int] = []

    async def on_event(event: JobEvent) -> None:
        if event.kind == "sample" and not started_at_cancel:
            started_at_cancel.append(runner.started)
            await runner.cancel()

    runner = JobRunner(make_deps(tmp_path, Script()), 10, concurrency=4, on_event=on_event)
    summary = await runner.run()

    assert summary.stop_reason == "cancelled"
    assert runner.started == started_at_cancel[0]
    assert summary.accepted + summary.rejected == runner.started
    assert summary.accepted < 10


async def test_generator_exception_is_a_rejected_sample(tmp_path: Path) -> None:
    events = Events()
    script = Script(generator=first_calls(raising))
    runner = JobRunner(make_deps(tmp_path, script), 2, concurrency=1, on_event=events)
    summary = await runner.run()

    assert summary.stop_reason == "completed" and summary.accepted == 2
    assert summary.rejected_by_reason == {"error": 1}
    failed = events.samples()[0]
    assert failed.status == "rejected"
    assert failed.reject_reason == "error: RuntimeError: model exploded"
    assert runner.deps.memory.reserved() == []


async def test_repeated_errors_stop_the_job(tmp_path: Path) -> None:
    runner = JobRunner(make_deps(tmp_path, Script(generator=raising)), 3, concurrency=1)
    summary = await runner.run()

    assert summary.stop_reason == "errors"
    assert summary.accepted == 0 and summary.rejected == MAX_CONSECUTIVE_ERRORS
    assert summary.rejected_by_reason == {"error": MAX_CONSECUTIVE_ERRORS}
    assert "model exploded" in summary.message
    assert summary.calls_per_accepted is None and summary.diversity is None


def test_runner_rejects_bad_arguments(tmp_path: Path) -> None:
    deps = make_deps(tmp_path, Script())
    with pytest.raises(ValueError, match="n must be"):
        JobRunner(deps, 0)
    with pytest.raises(ValueError, match="concurrency"):
        JobRunner(deps, 1, concurrency=0)


async def test_memory_entries_carry_the_job_id(tmp_path: Path) -> None:
    deps = make_deps(tmp_path, Script())
    assert deps.job_id is None
    runner = JobRunner(deps, 2, concurrency=2)
    summary = await runner.run()

    stored = runner.deps.memory._samples.get(include=["metadatas"])  # no public reader of the metadata
    assert [meta["job_id"] for meta in stored["metadatas"]] == [summary.job_id] * 2
