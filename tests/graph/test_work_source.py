"""The runner's work source and restored counters: items in, release per sample, exhaustion, resume."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from agents.job_calls import work_in_flight
from agents.schemas import Sample, TokenUsage
from graph.progress import Budget
from graph.runner import JobRunner
from graph.work import WorkItem
from tests.graph.loop_support import GENTLE, Events, Script, make_deps


class ListSource:
    """Hands out a fixed list of topics once each, then nothing (like the rows of a version)."""

    def __init__(self, topics: list[str]) -> None:
        self.topics = list(topics)
        self.usage = TokenUsage()
        self.released: dict[str, str | None] = {}
        self.restored: list[Sample] = []
        self.prepared = self.closed = False
        self.concurrency = self.handed = 0

    def plan_for(self, concurrency: int) -> None:
        self.concurrency = concurrency

    def restore(self, finished: Sequence[Sample]) -> None:
        self.restored = list(finished)

    async def prepare(self) -> None:
        self.prepared = True

    async def next_item(self, sample_id: str) -> WorkItem | None:
        if not self.topics:
            return None
        self.handed += 1
        return WorkItem(fields={"topic": self.topics.pop(0)}, parent_id=f"row-{self.handed - 1}")

    def release(self, sample_id: str, sample: Sample | None) -> None:
        self.released[sample_id] = sample.status if sample else None

    async def close(self) -> None:
        self.closed = True


async def test_samples_start_from_the_sources_items_until_it_is_exhausted(tmp_path: Path) -> None:
    source = ListSource(list(GENTLE.topics[:3]))
    events = Events()
    runner = JobRunner(make_deps(tmp_path, Script()), 10, concurrency=2, source=source, on_event=events)
    summary = await runner.run()

    assert summary.stop_reason == "exhausted" and summary.accepted == 3 and runner.started == 3
    assert sorted(s.lineage.topic for s in events.samples()) == sorted(GENTLE.topics[:3])
    assert sorted(s.lineage.parent_id or "" for s in events.samples()) == ["row-0", "row-1", "row-2"]
    assert source.prepared and source.closed and source.concurrency == work_in_flight(2) == 3  # samples in flight
    finished = [status for status in source.released.values() if status]
    assert finished == ["accepted"] * 3  # each finished sample released with its outcome
    assert summary.llm_calls == 6  # the source's own calls (none) plus a generator and a judge call each


async def test_a_failing_source_fails_that_sample_only(tmp_path: Path) -> None:
    class Flaky(ListSource):
        calls = 0

        async def next_item(self, sample_id: str) -> WorkItem | None:
            self.calls += 1
            if self.calls == 1:
                raise RuntimeError("row unreadable")
            return await super().next_item(sample_id)

    source = Flaky(list(GENTLE.topics[:2]))
    summary = await JobRunner(make_deps(tmp_path, Script()), 2, concurrency=1, source=source).run()
    assert summary.accepted == 2 and summary.rejected_by_reason == {"error": 1}
    assert next(iter(source.released.values())) == "rejected"


async def test_a_resumed_runner_starts_from_restored_counters(tmp_path: Path) -> None:
    events = Events()
    await JobRunner(make_deps(tmp_path / "a", Script()), 3, concurrency=1, on_event=events).run()
    finished = [_rejected("rejected-1"), *events.samples()]

    source = ListSource(list(GENTLE.topics[5:9]))
    resumed = JobRunner(
        make_deps(tmp_path / "b", Script()),
        4,
        concurrency=1,
        source=source,
        previous=finished,
        elapsed_s=100.0,
        budget=Budget(max_attempts=6),
    )
    before = resumed.progress()
    assert (before.accepted, before.rejected, before.rejected_by_reason) == (3, 1, {"error": 1})
    assert before.llm_calls == 3 * 2 + 1 and before.tokens == 7 * 20
    assert before.elapsed_s >= 100.0 and resumed.started == 4
    assert source.restored == finished

    summary = await resumed.run()
    assert summary.accepted == 4 and summary.rejected == 1 and summary.wall_s >= 100.0
    assert summary.llm_calls == 4 * 2 + 1 and summary.tokens["generator"].calls == 5
    assert resumed.started == 5  # one more sample: the attempts budget counts the earlier runs too


async def test_the_attempt_budget_covers_the_earlier_runs(tmp_path: Path) -> None:
    events = Events()
    await JobRunner(make_deps(tmp_path / "a", Script()), 2, concurrency=1, on_event=events).run()
    resumed = JobRunner(
        make_deps(tmp_path / "b", Script()), 5, previous=events.samples(), budget=Budget(max_attempts=3)
    )
    summary = await resumed.run()
    assert summary.stop_reason == "budget_attempts" and summary.accepted == 3


async def test_the_deadline_covers_the_earlier_runs(tmp_path: Path) -> None:
    runner = JobRunner(make_deps(tmp_path, Script()), 3, elapsed_s=60.0, budget=Budget(deadline_s=30.0))
    summary = await runner.run()
    assert summary.stop_reason == "deadline" and summary.accepted == 0


async def test_a_failing_event_sink_stops_the_job_and_raises(tmp_path: Path) -> None:
    async def sink(event: object) -> None:
        if getattr(event, "kind", "") == "sample":
            raise OSError(28, "No space left on device")

    runner = JobRunner(make_deps(tmp_path, Script()), 6, concurrency=3, on_event=sink)
    with pytest.raises(OSError, match="No space left"):
        await runner.run()
    assert runner.deps.memory.reserved() == []  # every reserved topic released


def _rejected(sample_id: str) -> Sample:
    """A sample an earlier run rejected after one generator call."""
    return Sample.model_validate(
        {
            "id": sample_id,
            "status": "rejected",
            "system": "",
            "turns": [],
            "reject_reason": "error: RuntimeError: model exploded",
            "lineage": {
                "style": "gentle",
                "topic": "t",
                "tokens": {"generator": {"calls": 1, "input_tokens": 10, "output_tokens": 10}},
            },
        }
    )
