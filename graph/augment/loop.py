"""One augmented child through the judge loop: operator draft -> checks -> judge -> rewrite -> accept.

The same bounded loop as a generated sample (the routing functions of :mod:`graph.routing`): the
operator's draft replaces ``generate``; the checks are the target pack's text checks, then the
operator's own checks against the parent (no LLM), then a near-duplicate check against the parents
and the children accepted so far (:mod:`graph.augment.seen`); the judge scores with the operator's
rubric (the pack's, plus ``coherence`` for multi-turn children); the rewriter gets the exact reasons
and the operator's contract (what the child owes its parent), so a repair never undoes the operator.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from langgraph.graph import END, START, StateGraph

from agents.augment.operator import ChildRequest, Operator
from agents.augment.registry import get_operator
from agents.checks import EmbedderLike, run_text_checks
from agents.judge_plan import JudgePlan, judge_sample
from agents.llm import RoleModels
from agents.rewriter import rewrite_dialogue
from agents.schemas import Attempt
from graph import routing
from graph.augment.seen import Seen
from graph.builder import CHECK_ROUTES, DRAFT_ROUTES, JUDGE_ROUTES
from graph.nodes import check_update, draft_update, verdict_update
from graph.state import SampleState

Update = dict[str, Any]


class ChildState(SampleState, total=False):
    """A sample's state plus what an augmented child needs: its request and the operator's notes."""

    request: ChildRequest[Any]
    notes: dict[str, Any]


@dataclass
class AugmentDeps:
    """What the child nodes need, built once per run."""

    models: RoleModels
    embedder: EmbedderLike
    plans: dict[str, JudgePlan]  # operator name -> the judge plan of its rubric
    seen: Seen = field(default_factory=Seen)
    max_rewrites: int = 2


def _operator(state: ChildState) -> Operator[Any]:
    return get_operator(state["request"].params.op)


class ChildNodes:
    """The node functions of the child graph, bound to one run's dependencies."""

    def __init__(self, deps: AugmentDeps) -> None:
        """Keep the dependencies."""
        self.deps = deps

    async def draft(self, state: ChildState) -> Update:
        """Make the operator's first draft of the child."""
        draft = await _operator(state).draft(self.deps.models.generator, state["request"])
        attempt = Attempt(kind="generate", turns=draft.turns, raw=draft.raw, parse_error=draft.error)
        update: Update = {
            "attempts": [attempt],
            "usage": {"generator": draft.usage},
            "notes": draft.notes,
            "turns": draft.turns,
            "verdict": None,
            "problems": [],
            "failure_code": None,
        }
        if draft.error is not None:
            update["problems"] = [f"the answer could not be used ({draft.error})"]
            update["failure_code"] = "parse"
        return update

    async def check(self, state: ChildState) -> Update:
        """The pack's text checks, then the operator's checks against the parent, then duplicates."""
        request, turns, notes = state["request"], state["turns"], state.get("notes", {})
        failures = run_text_checks(request.pack, turns)
        if not failures:
            failures = await asyncio.to_thread(_operator(state).check, request, turns, notes, self.deps.embedder)
        if not failures:
            duplicate = self.deps.seen.duplicate(request.parent, turns)
            failures = [duplicate] if duplicate else []
        return check_update(state, failures)

    async def judge(self, state: ChildState) -> Update:
        """Score the child with the operator's rubric for the target pack."""
        request, operator = state["request"], _operator(state)
        rubric = operator.criteria(request.pack, request.params)
        plan = self.deps.plans[operator.name]
        verdict, usage = await judge_sample(
            self.deps.models.judge, plan, rubric, state["turns"], request.pack.system_prompt
        )
        return verdict_update(state, verdict, usage, rubric)

    async def rewrite(self, state: ChildState) -> Update:
        """Repair the child with the exact reasons and the operator's contract."""
        request, operator, notes = state["request"], _operator(state), state.get("notes", {})
        reply = await rewrite_dialogue(
            self.deps.models.rewriter,
            request.pack,
            state.get("turns", []),
            state["problems"],
            exchanges=operator.exchanges(request),
            task=operator.contract(request, notes),
            max_tokens=operator.max_tokens,
        )
        update = draft_update(state, reply, "rewrite", "rewriter")
        update["rewrites"] = 1
        return update

    async def accept(self, state: ChildState) -> Update:
        """Keep the child unless a sibling accepted meanwhile made it a duplicate."""
        request, turns, seen = state["request"], state["turns"], self.deps.seen
        async with seen.lock:
            duplicate = seen.duplicate(request.parent, turns)
            if duplicate is not None:
                return {"status": "rejected", "reject_reason": f"near_duplicate: {duplicate.reason}"}
            seen.add_child(request.parent.id, state["sample_id"], turns)
        return {"status": "accepted", "reject_reason": None}

    async def reject(self, state: ChildState) -> Update:
        """Give up on the child, keeping the last reason."""
        problems = state.get("problems") or ["unknown failure"]
        return {"status": "rejected", "reject_reason": f"{state.get('failure_code') or 'failed'}: {problems[0]}"}


def build_child_graph(deps: AugmentDeps) -> Any:
    """Compile the child graph: draft -> check -> judge -> accept, failures to rewrite then reject."""
    nodes, limit = ChildNodes(deps), deps.max_rewrites
    builder = StateGraph(ChildState)
    for name in ("draft", "check", "judge", "rewrite", "accept", "reject"):
        builder.add_node(name, getattr(nodes, name))
    builder.add_edge(START, "draft")
    after_draft = partial(routing.after_draft, max_rewrites=limit)
    builder.add_conditional_edges("draft", after_draft, DRAFT_ROUTES)
    builder.add_conditional_edges("rewrite", after_draft, DRAFT_ROUTES)
    builder.add_conditional_edges("check", partial(routing.after_check, max_rewrites=limit), CHECK_ROUTES)
    builder.add_conditional_edges("judge", partial(routing.after_judge, max_rewrites=limit), JUDGE_ROUTES)
    builder.add_edge("accept", END)
    builder.add_edge("reject", END)
    return builder.compile()


def child_recursion_limit(max_rewrites: int) -> int:
    """Return a step limit the bounded loop never reaches legitimately."""
    return 8 + 4 * (max_rewrites + 1)
