"""Run augmentation over a version: every parent through each operator, children to a sink.

Parents are read in batches from the data-set store; at most ``concurrency`` parents are in
flight (one task each, created only when a slot is free, so a large version never becomes a
large task list). A parent's children are made one after the other (``per_sample`` per
operator), each seeing its accepted siblings so it can differ from them. A failed child (an
exception in a call) is counted under ``error`` and never stops the others. Accepted children are
handed to ``sink`` with their lineage (operator, parameters, operator notes, parent id and
version, models, prompt hashes, tokens).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from agents.augment.checks import joined
from agents.augment.operator import ChildRequest, Operator
from agents.augment.registry import OperatorSpec, get_operator
from agents.schemas import Lineage, Sample, TokenUsage, utc_now
from agents.styles import StylePack
from graph.augment.loop import AugmentDeps, ChildState, build_child_graph, child_recursion_limit
from graph.progress import reason_code

logger = logging.getLogger(__name__)
Sink = Callable[[Sample], None]


@dataclass
class AugmentReport:
    """What a run did: parents read and refused, children accepted per operator, rejected by reason."""

    parents: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    accepted: Counter[str] = field(default_factory=Counter)
    rejected: Counter[str] = field(default_factory=Counter)
    rewrites: int = 0
    tokens: dict[str, TokenUsage] = field(default_factory=dict)

    @property
    def children(self) -> int:
        """Return the accepted children, all operators together."""
        return sum(self.accepted.values())

    def add_tokens(self, usage: dict[str, TokenUsage]) -> None:
        """Add one child's token usage per role."""
        for role, used in usage.items():
            self.tokens[role] = self.tokens.get(role, TokenUsage()) + used


def prompt_hashes(operator: Operator[Any]) -> dict[str, str]:
    """Return the content hashes of the operator's prompts and the rewriter's (for lineage)."""
    from agents.prompting import role_prompt

    hashes = {f"operator:{name}": role_prompt(name).digest for name in operator.prompt_files()}
    hashes["rewriter"] = role_prompt("rewriter").digest
    return hashes


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
    ) -> None:
        """Bind the loop's dependencies, the target pack, the operators' parameters and the bounds."""
        if not 1 <= per_sample <= 10:
            raise ValueError("per_sample must be between 1 and 10")
        if not 1 <= concurrency <= 256:
            raise ValueError("concurrency must be between 1 and 256")
        self.deps, self.pack, self.specs = deps, pack, specs
        self.per_sample, self.concurrency, self.parent_version = per_sample, concurrency, parent_version
        self.graph = build_child_graph(deps)
        self.report = AugmentReport()

    def refusal(self, parent: Sample) -> str | None:
        """Return why no operator can take this parent (None: at least one can)."""
        reasons = [get_operator(spec.op).refuse(parent, spec, self.pack) for spec in self.specs]
        return None if any(reason is None for reason in reasons) else (reasons[0] or "refused")

    async def run(self, batches: Iterable[list[Sample]], sink: Sink) -> AugmentReport:
        """Augment every parent of ``batches`` (bounded concurrency), handing accepted children to ``sink``."""
        slots = asyncio.Semaphore(self.concurrency)
        tasks: set[asyncio.Task[None]] = set()
        for batch in batches:
            for parent in batch:
                self.deps.seen.add_parent(joined(parent.turns))
            for parent in batch:
                self.report.parents += 1
                await slots.acquire()
                task = asyncio.create_task(self._parent(parent, sink))
                tasks.add(task)
                task.add_done_callback(partial(_finished, tasks, slots))
        if tasks:
            await asyncio.gather(*tasks)
        return self.report

    async def _parent(self, parent: Sample, sink: Sink) -> None:
        """Make a parent's children, operator by operator, each seeing its accepted siblings."""
        for spec in self.specs:
            operator = get_operator(spec.op)
            why = operator.refuse(parent, spec, self.pack)
            if why is not None:
                self.report.refused[f"{operator.name}: {why}"] += 1
                continue
            siblings: list[str] = []
            for variant in range(self.per_sample):
                request = ChildRequest(parent, self.pack, spec, variant, tuple(siblings))
                try:
                    child = await self._child(operator, request)
                except Exception:  # a failed child never blocks the others
                    logger.exception("augmenting %s with %s failed", parent.id, operator.name)
                    self.report.rejected["error"] += 1
                    continue
                if child is not None:
                    siblings.append("\n".join(turn.content for turn in child.turns))
                    sink(child)

    async def _child(self, operator: Operator[Any], request: ChildRequest[Any]) -> Sample | None:
        """Run one child through the graph; return it when accepted (counted either way)."""
        started = utc_now()
        state: ChildState = {"sample_id": uuid.uuid4().hex, "request": request}
        final = await self.graph.ainvoke(state, {"recursion_limit": child_recursion_limit(self.deps.max_rewrites)})
        self.report.add_tokens(final.get("usage", {}))
        self.report.rewrites += final.get("rewrites", 0)
        if final.get("status") != "accepted":
            self.report.rejected[reason_code(final.get("reject_reason"))] += 1
            return None
        self.report.accepted[operator.name] += 1
        return self._sample(operator, request, final, started)

    def _sample(self, operator: Operator[Any], request: ChildRequest[Any], final: ChildState, started: Any) -> Sample:
        """Build the accepted child with its lineage."""
        parent, params = request.parent, request.params
        system = self.pack.system_prompt if operator.needs_style or not parent.system else parent.system
        notes = operator.lineage(request, final.get("notes", {}))
        return Sample(
            id=final["sample_id"],
            status="accepted",
            system=system,
            turns=final["turns"],
            attempts=final.get("attempts", []),
            lineage=Lineage(
                origin="augmented",
                style=self.pack.name,
                topic=parent.lineage.topic,
                models=dict(self.deps.models.names),
                prompt_hashes=prompt_hashes(operator),
                tokens=final.get("usage", {}),
                operator=operator.name,
                params={**params.model_dump(mode="json", exclude={"op"}), "variant": request.variant, **notes},
                parent_id=parent.id,
                parent_version=self.parent_version,
                started_at=started,
                finished_at=utc_now(),
            ),
        )
