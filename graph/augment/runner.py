"""Run augmentation over a version: every parent through each operator, every finished child to a sink.

Parents come page by page from a :class:`graph.augment.source.RowSource`; ``concurrency`` bounds the
LLM calls in flight, and :func:`agents.job_calls.work_in_flight` parents are in flight (half as many
again, so calls go on while some children are in their checks; one task each, created only when a
place is free, so a large version never becomes a large task list). A parent's children are made one
after the other (``per_sample`` per operator), each seeing its accepted siblings so it can differ
from them. Every finished child, accepted or rejected, is awaited into ``on_child`` before the next
one starts (the job kind stores it there), and a child an earlier run finished is skipped: a resumed
job makes no child twice. A failed child (an exception in a call) is a rejected child with reason
``error`` and never stops the others. Budgets (children started, tokens, wall-clock) and
:meth:`cancel` stop new children from starting; the ones in flight finish.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from agents.augment.checks import joined
from agents.augment.operator import ChildRequest, Operator
from agents.augment.registry import OperatorSpec, get_operator
from agents.job_calls import job_call_slots, work_in_flight
from agents.schemas import Sample, TokenUsage, utc_now
from agents.styles import StylePack
from graph.augment.lineage import child_sample
from graph.augment.loop import AugmentDeps, ChildState, build_child_graph, child_recursion_limit
from graph.augment.source import RowSource, child_key
from graph.progress import Budget, StopReason, reason_code
from graph.state import merge_usage
from graph.worker_threads import ensure_worker_threads

logger = logging.getLogger(__name__)
ChildSink = Callable[[Sample], Awaitable[None]]


@dataclass
class AugmentReport:
    """What a run did: parents read and refused, children accepted per operator, rejected by reason."""

    parents: int = 0
    started: int = 0
    in_flight: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    accepted: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)
    rewrites: int = 0
    tokens: dict[str, TokenUsage] = field(default_factory=dict)

    @property
    def children(self) -> int:
        """Return the accepted children, all operators together."""
        return sum(self.accepted.values())

    @property
    def calls(self) -> int:
        """Return the LLM calls made, all roles together."""
        return sum(usage.calls for usage in self.tokens.values())

    @property
    def total_tokens(self) -> int:
        """Return the tokens spent, all roles together."""
        return sum(usage.total for usage in self.tokens.values())

    def count(self, child: Sample) -> None:
        """Add one finished child to the counters."""
        self.tokens = merge_usage(self.tokens, child.lineage.tokens)
        self.rewrites += child.rewrites
        if child.status == "accepted":
            self.accepted[child.lineage.operator or "unknown"] += 1
        else:
            self.rejected[reason_code(child.reject_reason)] += 1


def _finished(tasks: set[asyncio.Task[None]], slots: asyncio.Semaphore, done: asyncio.Task[None]) -> None:
    """Free a parent's slot when its task ends."""
    tasks.discard(done)
    slots.release()


class AugmentRunner:
    """Runs operators over parents through the child graph (see the module docstring)."""

    def __init__(
        self,
        deps: AugmentDeps,
        pack: StylePack,
        specs: list[OperatorSpec],
        *,
        per_sample: int = 1,
        concurrency: int = 4,
        parent_version: str | None = None,
        budget: Budget | None = None,
        elapsed_s: float = 0.0,
    ) -> None:
        """Bind the loop's dependencies, the target pack, the operators' parameters and the bounds."""
        if not 1 <= per_sample <= 10:
            raise ValueError("per_sample must be between 1 and 10")
        if not 1 <= concurrency <= 256:
            raise ValueError("concurrency must be between 1 and 256")
        self.deps, self.pack, self.specs = deps, pack, specs
        self.per_sample, self.concurrency, self.parent_version = per_sample, concurrency, parent_version
        self.budget = budget or Budget()
        self.graph = build_child_graph(deps)
        self.report = AugmentReport()
        self.stop_reason: StopReason | None = None
        self._t0 = time.monotonic() - elapsed_s
        self._source = RowSource(lambda: iter(()))

    @property
    def elapsed_s(self) -> float:
        """Seconds the job has run, earlier runs included."""
        return time.monotonic() - self._t0

    def restore(self, source: RowSource, finished: Sequence[Sample]) -> None:
        """Start from the children earlier runs finished: counted, remembered as seen, never made again."""
        source.restore(finished)
        for child in finished:
            key = child_key(child)
            if key is None:
                continue
            self.report.started += 1
            self.report.count(child)
            if child.status == "accepted":
                self.deps.seen.add_child(key[0], child.id, child.turns)

    def refusal(self, parent: Sample) -> str | None:
        """Return why no operator can take this parent (None: at least one can)."""
        reasons = [self._pack_and_refusal(get_operator(spec.op), parent, spec)[1] for spec in self.specs]
        return None if any(reason is None for reason in reasons) else (reasons[0] or "refused")

    def _pack_and_refusal(
        self, operator: Operator[Any], parent: Sample, spec: OperatorSpec
    ) -> tuple[StylePack, str | None]:
        """Return the pack a child of ``parent`` is made with, and why the operator refuses it (None: it takes it)."""
        pack = operator.pack_for(parent, self.pack)
        return pack, operator.refuse(parent, spec, pack)

    def stop_check(self) -> StopReason | None:
        """Return why no further child may start (cancelled or a budget reached), or None."""
        budget = self.budget
        if self.stop_reason is None:
            if budget.max_attempts is not None and self.report.started >= budget.max_attempts:
                self.stop_reason = "budget_attempts"
            elif budget.max_tokens is not None and self.report.total_tokens >= budget.max_tokens:
                self.stop_reason = "budget_tokens"
            elif budget.deadline_s is not None and self.elapsed_s >= budget.deadline_s:
                self.stop_reason = "deadline"
        return self.stop_reason

    async def cancel(self) -> None:
        """Stop starting children; the ones in flight finish and are handed to the sink."""
        self.stop_reason = self.stop_reason or "cancelled"

    async def run(self, source: RowSource, on_child: ChildSink) -> AugmentReport:
        """Augment every parent of ``source`` (bounded concurrency), handing every finished child to ``on_child``."""
        self._source = source
        ensure_worker_threads()  # each child's checks run in a thread: the default 6 would queue them
        with job_call_slots(self.concurrency):  # the tasks started below inherit the slots
            await self._run_parents(source, on_child)
        return self.report

    async def _run_parents(self, source: RowSource, on_child: ChildSink) -> None:
        """Start a task per parent while fewer than :func:`work_in_flight` run; wait for them all."""
        places = asyncio.Semaphore(work_in_flight(self.concurrency))
        tasks: set[asyncio.Task[None]] = set()
        try:
            async for page in source.pages():
                self.deps.seen.add_parents(page)
                for parent in page:
                    await places.acquire()
                    if self.stop_check():
                        places.release()
                        break
                    self.report.parents += 1
                    task = asyncio.create_task(self._parent(parent, on_child))
                    tasks.add(task)
                    task.add_done_callback(partial(_finished, tasks, places))
                if self.stop_check():
                    break
            if tasks:
                await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()

    async def _parent(self, parent: Sample, on_child: ChildSink) -> None:
        """Make a parent's missing children, operator by operator, each seeing its accepted siblings."""
        for spec in self.specs:
            operator = get_operator(spec.op)
            pack, why = self._pack_and_refusal(operator, parent, spec)
            if why is not None:
                self.report.refused[f"{operator.name}: {why}"] += 1
                continue
            siblings = [joined(child.turns) for child in self._source.siblings(parent.id, operator.name)]
            for variant in range(self.per_sample):
                if self._source.done(parent.id, operator.name, variant):
                    continue
                if self.stop_check():
                    return
                request = ChildRequest(parent, pack, spec, variant, tuple(siblings))
                child = await self._child(operator, request)
                if child.status == "accepted":
                    siblings.append(joined(child.turns))
                await on_child(child)

    async def _child(self, operator: Operator[Any], request: ChildRequest[Any]) -> Sample:
        """Run one child through the graph; return it finished (a raising call: rejected with ``error``)."""
        started = utc_now()
        state: ChildState = {"sample_id": uuid.uuid4().hex, "request": request}
        self.report.started += 1
        self.report.in_flight += 1
        try:
            final = await self.graph.ainvoke(state, {"recursion_limit": child_recursion_limit(self.deps.max_rewrites)})
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a failed child never blocks the others
            logger.exception("augmenting %s with %s failed", request.parent.id, operator.name)
            final = {**state, "status": "rejected", "reject_reason": f"error: {type(exc).__name__}: {exc}"}
        finally:
            self.report.in_flight -= 1
        child = child_sample(
            operator, request, final, started, pack=request.pack, models=self.deps.models,
            parent_version=self.parent_version,
        )  # fmt: skip
        self.report.count(child)
        return child
