"""The job runner and topic steering: exactly n, budgets, cancel, events, workspaces."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from agents.job_calls import work_in_flight
from benchmarks.fake_llm import fake_answer
from graph.progress import Budget, JobEvent, reason_code
from graph.runner import MAX_CONSECUTIVE_ERRORS, SURPLUS, JobRunner
from graph.state import LoopConfig
from graph.topic_planner import TopicPlanner
from tests.fakes import SlowChatModel
from tests.graph.loop_support import (
    GENTLE,
    MARKER_RULE,
    Events,
    Script,
    first_calls,
    judge_scores,
    make_deps,
    markerless,
    raising,
    same_dialogue,
)

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
    few_topics = GENTLE.model_copy(update={"topics": GENTLE.topics[:6]})
    deps = make_deps(tmp_path, script, pack=few_topics, planner_type=SpyPlanner)
    runner = JobRunner(deps, 10, concurrency=4)
    summary = await runner.run()
    planner = deps.planner
    assert isinstance(planner, SpyPlanner)

    assert summary.accepted == 10
    assert planner.most_in_flight > 1
    assert planner.clashes == []
    assert len(set(planner.handed)) == len(planner.handed)
    assert script.count("topics") >= 1  # the 6 listed topics ran out: brainstormed candidates were used
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
    runner = JobRunner(deps, 6, concurrency=4, on_event=events)  # 4 calls, work_in_flight(4) == 6 samples
    summary = await runner.run()

    assert summary.accepted == 6 and len(runner.accepted) == 6 and summary.complete
    assert deps.memory.count() == 6
    progress = [event.progress for event in events.events]
    assert max(p.in_flight for p in progress) <= work_in_flight(4) == 6
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
    assert summary.judge_prompt == "anchored" and summary.thresholds == GENTLE.thresholds  # what was in force


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


async def test_a_failing_diversity_measure_leaves_the_summary_without_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def endpoint_gone(*args: object) -> None:
        raise ConnectionError("embedding endpoint gone")

    monkeypatch.setattr("graph.job_summary.diversity_report", endpoint_gone)
    runner = JobRunner(make_deps(tmp_path, Script()), 2, concurrency=1)
    summary = await runner.run()
    assert summary.accepted == 2 and summary.stop_reason == "completed" and summary.diversity is None
    assert summary.message == "diversity not measured: ConnectionError: embedding endpoint gone"


def every_other(override: Any) -> Any:
    """Use ``override`` for every second call of a role, answer normally otherwise."""

    def answer(prompt: str, call: int) -> str:
        return override(prompt, call) if call % 2 else fake_answer(prompt, "DraftAnswer")

    return answer


async def test_spares_near_the_end_keep_exactly_n_and_the_surplus_is_rejected(tmp_path: Path) -> None:
    # Every other draft lacks a marker and is rejected at the check: the job learns acceptance 0.5
    # and, near its end, runs more samples than it still needs. The first n accepted are kept.
    script = Script(generator=every_other(markerless))
    events = Events()
    deps = make_deps(tmp_path, script, config=LoopConfig(max_rewrites=0), brainstorm=False)
    slow = SlowChatModel(responder=script, delay_s=0.02)
    deps = replace(deps, models=replace(deps.models, generator=slow, judge=slow, rewriter=slow))
    runner = JobRunner(deps, 16, concurrency=8, on_event=events)
    summary = await runner.run()

    assert summary.accepted == 16 and summary.complete
    assert deps.memory.count() == 16  # a surplus sample never reaches the memory
    progress = [event.progress for event in events.events]
    assert max(p.in_flight for p in progress) <= work_in_flight(8) == 12
    assert any(p.accepted + p.in_flight > 16 for p in progress)  # spares ran beside the last samples
    samples = events.samples()
    assert sum(sample.status == "accepted" for sample in samples) == 16
    assert summary.rejected == len(samples) - 16
    assert summary.rejected_by_reason.get("surplus", 0) >= 1  # the spares still running were cancelled
    assert all(s.reject_reason.startswith(SURPLUS) for s in samples if reason_code(s.reject_reason) == "surplus")
    assert deps.memory.reserved() == []


async def test_a_cancelled_job_does_not_turn_its_samples_into_surplus(tmp_path: Path) -> None:
    async def on_event(event: JobEvent) -> None:
        if event.kind == "sample":
            await runner.cancel()

    script = Script()
    slow = SlowChatModel(responder=script, delay_s=0.02)
    deps = make_deps(tmp_path, script)
    deps = replace(deps, models=replace(deps.models, generator=slow, judge=slow, rewriter=slow))
    runner = JobRunner(deps, 10, concurrency=4, on_event=on_event)
    summary = await runner.run()

    assert summary.stop_reason == "cancelled"
    assert "surplus" not in summary.rejected_by_reason
    assert summary.accepted + summary.rejected == runner.started  # the samples in flight finished and are kept
