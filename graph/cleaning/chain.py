"""Run a chain of operators over a stream of Arrow batches, on both cores, counting every decision.

The chain is cut into segments: runs of row and keyed operators (done by worker processes, one
batch each, up to ``2 x workers`` batches ahead) and single main-process operators (the LLM and
embedding operators, done here, async). For each batch, in order, the main process replays the
segment's decisions operator by operator: a keyed operator's index admits only the rows still
alive at its place, so the result is the same as running every operator one after another,
whatever the number of workers. Only the columns rule operators read travel to the workers (Arrow
pickles without a Python object per row), and what comes back is small: decisions, keys and the
turns of changed rows (``graph.cleaning.batch``).
Memory is bounded by the batches in flight plus the dedup indexes (a few dozen bytes a kept row).
"""

from __future__ import annotations

import asyncio
import collections
import os
import threading
import time
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context

import pyarrow as pa

from graph.cleaning.base import Change, Drop, Flag, KeyedOperator, KeyIndex, MainOperator, Operator
from graph.cleaning.batch import WORKER_COLUMNS, BatchState, dialogue_sizes, light_samples, turn_rows
from graph.cleaning.report import CleanReport, LengthCounter, OperatorReport, change_example, drop_example
from graph.cleaning.segment import SegmentResult, run_segment

Segment = list[tuple[int, Operator]]
PARENT_CHECK_S = 1.0
FORKSERVER_PRELOAD = ("graph.cleaning.registry", "graph.cleaning.chain")
"""Imported once by the fork server, so every worker shares those pages instead of importing them again."""
_worker_operators: list[Operator] = []


def _init_worker(operators: list[Operator], parent: int) -> None:
    global _worker_operators
    _worker_operators = operators
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()


def _exit_with_parent(main: int) -> None:
    """End this worker when the main process is gone (SIGKILL gives the pool no chance to stop it)."""
    spawner = os.getppid()  # the fork server: it ends with the main process
    while True:
        time.sleep(PARENT_CHECK_S)
        try:
            os.kill(main, 0)
        except ProcessLookupError:
            os._exit(1)
        if os.getppid() != spawner:
            os._exit(1)


def _work(positions: list[int], batch: pa.Table) -> SegmentResult:
    return run_segment([(position, _worker_operators[position]) for position in positions], light_samples(batch))


DropSink = Callable[[str, str, str, "str | None"], None]
"""Called per dropped row with its id, the operator, the reason code and the row it duplicates."""


@dataclass
class CleanedBatch:
    """The rows of one batch that came out of the chain, and per row the operators that changed it."""

    table: pa.Table
    changed_by: list[list[str]]


Sink = Callable[[CleanedBatch], Awaitable[None] | None]


def segments(operators: list[Operator]) -> list[Segment]:
    """Cut the chain into runs of row/keyed operators and single main-process operators."""
    cut: list[Segment] = []
    for position, operator in enumerate(operators):
        if isinstance(operator, MainOperator) or not cut or isinstance(cut[-1][0][1], MainOperator):
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
        context = get_context("forkserver")  # never fork a process with threads; share the imports
        context.set_forkserver_preload(list(FORKSERVER_PRELOAD))
        return ProcessPoolExecutor(
            self.workers, mp_context=context, initializer=_init_worker, initargs=(self.operators, os.getpid())
        )

    @property
    def first_segment(self) -> Segment | None:
        """Return the chain's first run of row and keyed operators (None when it starts with a main-process one)."""
        if not self._segments or isinstance(self._segments[0][0][1], MainOperator):
            return None
        return self._segments[0]

    async def run(self, batches: Iterable[pa.Table | pa.RecordBatch], sink: Sink) -> CleanReport:
        """Clean every batch in order and hand each batch's surviving rows to ``sink``."""
        return await self._run(((batch, None) for batch in batches), sink)

    async def replay(self, prepared: Iterable[tuple[pa.Table, SegmentResult]], sink: Sink) -> CleanReport:
        """Finish the chain over batches whose first segment ran elsewhere (on Ray workers), in order.

        Each item is a batch (``rows.INPUT_SCHEMA`` columns) and what :attr:`first_segment` made of
        it, with row numbers relative to that batch; the rest of the chain (the keyed operators'
        decisions, later segments) runs here exactly as in :meth:`run`, so the rows are the same.
        """
        if self.first_segment is None:
            raise ValueError("the chain starts with a main-process operator: no first segment to run elsewhere")
        return await self._run(prepared, sink)

    async def _run(
        self, batches: Iterable[tuple[pa.Table | pa.RecordBatch, SegmentResult | None]], sink: Sink
    ) -> CleanReport:
        started = time.perf_counter()
        executor = self._executor()
        ahead = max(1, 2 * self.workers)

        async def first(state: BatchState, given: SegmentResult | None) -> SegmentResult:
            if given is not None:
                return given
            segment = self.first_segment
            if segment is None:
                return SegmentResult()
            return await self._segment(segment, state.table.select(list(WORKER_COLUMNS)), executor)

        pending: collections.deque[tuple[BatchState, asyncio.Future[SegmentResult]]] = collections.deque()
        try:
            iterator = iter(batches)
            exhausted = False
            while True:
                while not exhausted and len(pending) < ahead:
                    item = next(iterator, None)
                    if item is None:
                        exhausted = True
                    elif item[0].num_rows:
                        batch, given = item
                        table = pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch
                        state = BatchState(table)
                        pending.append((state, asyncio.ensure_future(first(state, given))))
                if not pending:
                    break
                state, future = pending.popleft()
                cleaned = await self._finish(state, await future, executor)
                outcome = sink(cleaned)
                if outcome is not None:
                    await outcome
        finally:
            for _, future in pending:
                future.cancel()
            if executor is not None:
                executor.shutdown(wait=True, cancel_futures=True)
            for operator in self.operators:
                if isinstance(operator, MainOperator):
                    operator.close()
        self.report.before, self.report.after = self._before.stats(), self._after.stats()
        self.report.seconds = round(time.perf_counter() - started, 3)
        return self.report

    async def _segment(self, segment: Segment, batch: pa.Table, executor: Executor | None) -> SegmentResult:
        if executor is None:
            return run_segment(segment, light_samples(batch))
        positions = [position for position, _ in segment]
        return await asyncio.get_running_loop().run_in_executor(executor, _work, positions, batch)

    async def _finish(self, state: BatchState, result: SegmentResult, executor: Executor | None) -> CleanedBatch:
        self.report.rows_in += len(state)
        self._before.add(*dialogue_sizes(state.table.column("turns")))
        members = list(range(len(state)))
        for index, segment in enumerate(self._segments):
            position, operator = segment[0]
            if isinstance(operator, MainOperator):
                members = await self._main(position, operator, state, members)
                continue
            if index > 0:
                result = await self._segment(segment, state.view(members), executor)
            members = self._replay(segment, result, state, members)
        table = state.output(members)
        self.report.rows_out += table.num_rows
        self._after.add(*dialogue_sizes(table.column("turns")))
        return CleanedBatch(table, [state.changed_by.get(row, []) for row in members])

    def _replay(self, segment: Segment, result: SegmentResult, state: BatchState, members: list[int]) -> list[int]:
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
                alive = self._admit(position, result, state, members, alive)
                continue
            events = result.events.get(position, {})
            if not events:
                continue
            living, gone = set(alive), set()
            for local in sorted(events):
                if local not in living:  # a keyed operator dropped it before this operator's place
                    continue
                decision = events[local]
                if isinstance(decision, Drop):
                    report.count("dropped", decision.code, None)
                    self._dropped(state.ids[members[local]], operator.name, decision)
                    gone.add(local)
                elif isinstance(decision, Flag):
                    report.count("flagged", decision.code, None)
                elif isinstance(decision, Change):
                    report.count("changed", decision.what, None)
                    state.changed_by.setdefault(members[local], []).append(operator.name)
            if gone:
                alive = [local for local in alive if local not in gone]
        kept = set(alive)
        for local, turns in result.final.items():
            if local in kept:
                state.turns[members[local]] = turns
        return [members[local] for local in alive]

    def _admit(
        self, position: int, result: SegmentResult, state: BatchState, members: list[int], alive: list[int]
    ) -> list[int]:
        """Let a keyed operator's index decide on the rows still alive at its place."""
        report = self.report.operators[position]
        seen, keys = result.keys[position]
        wanted = set(alive)
        picked = [k for k, local in enumerate(seen.tolist()) if local in wanted]
        locals_ = [int(seen[k]) for k in picked]
        decisions = self.indexes[position].admit([state.ids[members[local]] for local in locals_], keys[picked])
        dropped = set()
        for local, decision in zip(locals_, decisions, strict=True):
            if isinstance(decision, Drop):
                dropped.add(local)
                example = None
                if report.wants_example("dropped", decision.code):
                    example = drop_example(state.sample(members[local]), decision.detail, decision.duplicate_of)
                report.count("dropped", decision.code, example)
                self._dropped(state.ids[members[local]], self.operators[position].name, decision)
        return [local for local in alive if local not in dropped]

    def _dropped(self, sample_id: str, operator: str, decision: Drop) -> None:
        if self.on_drop is not None:
            self.on_drop(sample_id, operator, decision.code, decision.duplicate_of)

    async def _main(self, position: int, operator: MainOperator, state: BatchState, alive: list[int]) -> list[int]:
        report = self.report.operators[position]
        report.rows_in += len(alive)
        samples = light_samples(state.view(alive))
        decisions = await operator.decide_batch(samples)
        survivors = []
        for row, sample, decision in zip(alive, samples, decisions, strict=True):
            if isinstance(decision, Drop):
                wanted = report.wants_example("dropped", decision.code)
                example = drop_example(sample, decision.detail, decision.duplicate_of) if wanted else None
                report.count("dropped", decision.code, example)
                self._dropped(sample.id, operator.name, decision)
                continue
            if isinstance(decision, Change):
                wanted = report.wants_example("changed", decision.what)
                example = change_example(sample.id, sample.turns, decision.turns) if wanted else None
                report.count("changed", decision.what, example)
                state.change(row, operator.name, turn_rows(decision.turns), decision.attempts)
            elif isinstance(decision, Flag):
                report.count("flagged", decision.code, None)
            survivors.append(row)
        return survivors
