"""Run a chain of operators over a stream of batches, on both cores, counting every decision.

The chain is cut into segments: runs of row and keyed operators (done by worker processes, one
batch each, up to ``2 x workers`` batches ahead) and single LLM operators (done here, async).
For each batch, in order, the main process replays the segment's decisions operator by operator:
a keyed operator's index admits only the rows still alive at its place, so the result is the same
as running every operator one after another, whatever the number of workers. Memory is bounded by
the batches in flight plus the dedup indexes (a few dozen bytes a kept row).
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context

from agents.schemas import Sample
from graph.cleaning.base import Change, Drop, Flag, KeyedOperator, KeyIndex, LLMOperator, Operator
from graph.cleaning.report import CleanReport, LengthCounter, OperatorReport, change_example, drop_example
from graph.cleaning.segment import SegmentResult, run_segment

Segment = list[tuple[int, Operator]]
_worker_operators: list[Operator] = []


def _init_worker(operators: list[Operator]) -> None:
    global _worker_operators
    _worker_operators = operators


def _work(positions: list[int], samples: list[Sample]) -> SegmentResult:
    return run_segment([(position, _worker_operators[position]) for position in positions], samples)


DropSink = Callable[[str, str, str, "str | None"], None]
"""Called per dropped row with its id, the operator, the reason code and the row it duplicates."""


@dataclass
class CleanedRow:
    """A row that came out of the chain, and the operators that changed it (for its lineage)."""

    sample: Sample
    changed_by: list[str] = field(default_factory=list)


def segments(operators: list[Operator]) -> list[Segment]:
    """Cut the chain into runs of row/keyed operators and single LLM operators."""
    cut: list[Segment] = []
    for position, operator in enumerate(operators):
        if isinstance(operator, LLMOperator) or not cut or isinstance(cut[-1][0][1], LLMOperator):
            cut.append([(position, operator)])
        else:
            cut[-1].append((position, operator))
    return cut


class ChainRunner:
    """One run of a chain: the operators, their indexes, the pool and the report."""

    def __init__(
        self,
        operators: list[Operator],
        *,
        workers: int = 2,
        report: CleanReport | None = None,
        on_drop: DropSink | None = None,
    ) -> None:
        """Prepare a run; ``workers=0`` runs everything in this process; ``on_drop`` hears of every dropped row."""
        self.operators = operators
        self.on_drop = on_drop
        self.workers = workers
        self.indexes: dict[int, KeyIndex] = {
            position: op.new_index() for position, op in enumerate(operators) if isinstance(op, KeyedOperator)
        }
        self.report = report or CleanReport()
        self.report.chain = [op.spec for op in operators]
        self.report.workers = workers
        self.report.operators = [OperatorReport(name=op.name, params=op.spec["params"]) for op in operators]
        self._before, self._after = LengthCounter(), LengthCounter()
        self._segments = segments(operators)

    def _executor(self) -> Executor | None:
        if self.workers <= 0:
            return None
        context = get_context("spawn")
        return ProcessPoolExecutor(
            self.workers, mp_context=context, initializer=_init_worker, initargs=(self.operators,)
        )

    async def run(
        self, batches: Iterable[list[Sample]], sink: Callable[[list[CleanedRow]], Awaitable[None] | None]
    ) -> CleanReport:
        """Clean every batch in order and hand each batch's surviving rows to ``sink``."""
        started = time.perf_counter()
        executor = self._executor()
        ahead = max(1, 2 * self.workers)

        async def first(batch: list[Sample]) -> SegmentResult:
            if isinstance(self._segments[0][0][1], LLMOperator):
                return SegmentResult()
            return await self._segment(self._segments[0], batch, executor)

        pending: collections.deque[tuple[list[Sample], asyncio.Future[SegmentResult]]] = collections.deque()
        try:
            iterator = iter(batches)
            exhausted = False
            while True:
                while not exhausted and len(pending) < ahead:
                    batch = next(iterator, None)
                    if batch is None:
                        exhausted = True
                    elif batch:
                        pending.append((batch, asyncio.ensure_future(first(batch))))
                if not pending:
                    break
                batch, future = pending.popleft()
                rows = await self._finish(batch, await future, executor)
                outcome = sink(rows)
                if outcome is not None:
                    await outcome
        finally:
            for _, future in pending:
                future.cancel()
            if executor is not None:
                executor.shutdown(wait=True, cancel_futures=True)
        self.report.before, self.report.after = self._before.stats(), self._after.stats()
        self.report.seconds = round(time.perf_counter() - started, 3)
        return self.report

    async def _segment(self, segment: Segment, samples: list[Sample], executor: Executor | None) -> SegmentResult:
        if executor is None:
            return run_segment(segment, samples)
        positions = [position for position, _ in segment]
        return await asyncio.get_running_loop().run_in_executor(executor, _work, positions, samples)

    async def _finish(self, batch: list[Sample], result: SegmentResult, executor: Executor | None) -> list[CleanedRow]:
        self.report.rows_in += len(batch)
        self._before.add(batch)
        rows = [CleanedRow(sample) for sample in batch]
        members = list(range(len(batch)))
        for index, segment in enumerate(self._segments):
            position, operator = segment[0]
            if isinstance(operator, LLMOperator):
                members = await self._llm(position, operator, rows, members)
                continue
            if index > 0:
                result = await self._segment(segment, [rows[m].sample for m in members], executor)
            members = self._replay(segment, result, rows, members)
        out = [rows[m] for m in members]
        self.report.rows_out += len(out)
        self._after.add([row.sample for row in out])
        return out

    def _replay(self, segment: Segment, result: SegmentResult, rows: list[CleanedRow], members: list[int]) -> list[int]:
        """Apply a segment's decisions in order; ``members[i]`` is the row of the segment's i-th input."""
        for (position, bucket, code), examples in result.examples.items():
            report = self.report.operators[position]
            for example in examples:
                if report.wants_example(bucket, code):
                    report.examples.setdefault(f"{bucket}:{code}", []).append(example)
        alive = list(range(len(members)))
        for position, operator in segment:
            report = self.report.operators[position]
            report.rows_in += len(alive)
            if isinstance(operator, KeyedOperator):
                alive = self._admit(position, result, rows, members, alive)
                continue
            events = result.events.get(position, {})
            survivors = []
            for local in alive:
                decision = events.get(local)
                if decision is None:
                    survivors.append(local)
                elif isinstance(decision, Drop):
                    report.count("dropped", decision.code, None)
                    self._dropped(rows[members[local]].sample.id, operator.name, decision)
                elif isinstance(decision, Flag):
                    report.count("flagged", decision.code, None)
                    survivors.append(local)
                elif isinstance(decision, Change):
                    report.count("changed", decision.what, None)
                    rows[members[local]].changed_by.append(operator.name)
                    survivors.append(local)
            alive = survivors
        kept = set(alive)
        for local, sample in result.final.items():
            if local in kept:
                rows[members[local]].sample = sample
        return [members[local] for local in alive]

    def _admit(
        self, position: int, result: SegmentResult, rows: list[CleanedRow], members: list[int], alive: list[int]
    ) -> list[int]:
        """Let a keyed operator's index decide on the rows still alive at its place."""
        report = self.report.operators[position]
        seen, keys = result.keys[position]
        wanted = set(alive)
        picked = [k for k, local in enumerate(seen.tolist()) if local in wanted]
        locals_ = [int(seen[k]) for k in picked]
        ids = [rows[members[local]].sample.id for local in locals_]
        decisions = self.indexes[position].admit(ids, keys[picked])
        dropped = set()
        for local, decision in zip(locals_, decisions, strict=True):
            if isinstance(decision, Drop):
                dropped.add(local)
                example = None
                if report.wants_example("dropped", decision.code):
                    example = drop_example(rows[members[local]].sample, decision.detail, decision.duplicate_of)
                report.count("dropped", decision.code, example)
                self._dropped(rows[members[local]].sample.id, self.operators[position].name, decision)
        return [local for local in alive if local not in dropped]

    def _dropped(self, sample_id: str, operator: str, decision: Drop) -> None:
        if self.on_drop is not None:
            self.on_drop(sample_id, operator, decision.code, decision.duplicate_of)

    async def _llm(self, position: int, operator: Operator, rows: list[CleanedRow], alive: list[int]) -> list[int]:
        assert isinstance(operator, LLMOperator)
        report = self.report.operators[position]
        report.rows_in += len(alive)
        decisions = await operator.decide_batch([rows[i].sample for i in alive])
        survivors = []
        for i, decision in zip(alive, decisions, strict=True):
            sample = rows[i].sample
            if isinstance(decision, Drop):
                wanted = report.wants_example("dropped", decision.code)
                report.count("dropped", decision.code, drop_example(sample, decision.detail, None) if wanted else None)
                self._dropped(sample.id, operator.name, decision)
                continue
            if isinstance(decision, Change):
                wanted = report.wants_example("changed", decision.what)
                report.count(
                    "changed",
                    decision.what,
                    change_example(sample.id, sample.turns, decision.turns) if wanted else None,
                )
                attempts = [*sample.attempts, *decision.attempts]
                rows[i].sample = sample.model_copy(update={"turns": decision.turns, "attempts": attempts})
                rows[i].changed_by.append(operator.name)
            elif isinstance(decision, Flag):
                report.count("flagged", decision.code, None)
            survivors.append(i)
        return survivors
