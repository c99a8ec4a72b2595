"""The nodes of the sample graph: plan_topic, generate, check, judge, rewrite, accept, reject."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from agents.answers import DraftAnswer
from agents.batching import BatchDispatcher
from agents.call_cache import CallCache
from agents.checks import CheckFailure, check_exemplar_similarity, check_near_duplicate, run_text_checks
from agents.embeddings import Embedder
from agents.generator import generate_dialogue
from agents.grounding import check_grounding
from agents.judge import problems_from_verdict
from agents.judge_plan import JudgePlan, judge_sample
from agents.llm import RoleModels
from agents.pricing import PriceTable
from agents.rewriter import rewrite_dialogue
from agents.schemas import Attempt, TokenUsage, Turn, Verdict
from agents.structured import StructuredReply
from agents.styles import Criterion, StylePack
from graph.knowledge import Grounding
from graph.memory import TopicMemory
from graph.replay import PlanJournal
from graph.spares import SURPLUS
from graph.state import LoopConfig, SampleState
from graph.topic_planner import TopicPlanner

Update = dict[str, Any]


@dataclass
class LoopDeps:
    """What the nodes need, passed in (never built inside a node)."""

    pack: StylePack
    models: RoleModels
    memory: TopicMemory
    embedder: Embedder
    planner: TopicPlanner
    judge_plan: JudgePlan
    config: LoopConfig = field(default_factory=LoopConfig)
    job_id: str | None = None
    accept_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    seed: int | None = None  # the job's seed (None: derived from the job id)
    cache: CallCache | None = None  # the data directory's call cache
    journal: PlanJournal | None = None  # set by the runner when there is a cache
    prices: PriceTable | None = None  # for the cost in progress and summary
    grounding: Grounding | None = None
    batches: BatchDispatcher | None = None  # batch mode: the job's Batch API submissions (models use it too)
    take_seat: Callable[[str], bool] | None = None  # the runner's: may this sample be the job's next accepted?


def user_text(turns: list[Turn]) -> str:
    """Join the user turns of a dialogue (what the memory compares)."""
    return "\n".join(turn.content for turn in turns if turn.role == "user")


def _with_last(attempts: list[Attempt], **changes: Any) -> list[Attempt]:
    """Return the attempts with the last one updated (state is never mutated in place)."""
    return [*attempts[:-1], attempts[-1].model_copy(update=changes)]


def check_update(state: SampleState, failures: list[CheckFailure]) -> Update:
    """Record the checks' failures on the last attempt: the reasons the rewriter gets, the code the router reads."""
    reasons = [failure.reason for failure in failures]
    codes = [failure.code for failure in failures]
    return {
        "attempts": _with_last(state["attempts"], check_failures=reasons, failure_codes=codes),
        "problems": reasons,
        "failure_code": codes[0] if codes else None,
    }


def verdict_update(state: SampleState, verdict: Verdict, usage: TokenUsage, rubric: list[Criterion]) -> Update:
    """Record the judge's verdict on the last attempt, with the problems a rewrite must fix and the failure code."""
    problems = [] if verdict.passed else problems_from_verdict(verdict, rubric)
    code = None if verdict.passed else ("judge_parse" if verdict.error else "judge:" + ",".join(verdict.failing))
    return {
        "attempts": _with_last(state["attempts"], verdict=verdict),
        "verdict": verdict,
        "usage": {"judge": usage},
        "problems": problems,
        "failure_code": code,
    }


def draft_update(
    state: SampleState, reply: StructuredReply[DraftAnswer], kind: Literal["generate", "rewrite"], role: str
) -> Update:
    """Record a new draft (from the generator or the rewriter) as an attempt."""
    turns = reply.parsed.turns() if reply.parsed else []
    cited = list(dict.fromkeys(pid for ids in reply.parsed.citations() for pid in ids)) if reply.parsed else []
    attempt = Attempt(kind=kind, turns=turns, raw=reply.raw, parse_error=reply.error, cited=cited)
    update: Update = {
        "attempts": [*state.get("attempts", []), attempt],
        "usage": {role: reply.usage},
        "verdict": None,
        "problems": [],
        "failure_code": None,
    }
    if reply.parsed is None:
        update["problems"] = [f"the answer was not valid JSON for the sample schema ({reply.error})"]
        update["failure_code"] = "parse"
        update["turns"] = state.get("turns", [])
    else:
        update["turns"] = turns
        update["cited"] = cited
        update["citations"] = reply.parsed.citations()
    return update


class SampleNodes:
    """The graph's node functions, bound to one job's dependencies."""

    def __init__(self, deps: LoopDeps) -> None:
        """Keep the dependencies."""
        self.deps = deps

    async def plan_topic(self, state: SampleState) -> Update:
        """Pick the least covered topic (unless one was given) and the accepted samples nearest it.

        Sample number ``k`` of a resumed job, or of a rerun under the same seed, replays the plan
        recorded for ``k`` while its topic is free, so its calls are the ones already answered.
        A grounded job then retrieves the passages of the topic (never recorded: they follow from it).
        """
        deps, ordinal, given = self.deps, state.get("ordinal"), state.get("topic")
        journal = deps.journal if ordinal is not None and not given else None
        update: Update | None = None
        if journal is not None and ordinal is not None:
            plan = await journal.replay(ordinal)
            if plan is not None and await deps.planner.take(state["sample_id"], plan["topic"]):
                update = {"topic": plan["topic"], "avoid": list(plan["avoid"])}
        if update is None:
            topic = given or await deps.planner.next_topic(state["sample_id"])
            neighbors = await deps.memory.anearest(topic, deps.config.avoid_neighbors)
            update = {"topic": topic, "avoid": [neighbor.text for neighbor in neighbors]}
            if journal is not None and ordinal is not None:
                await journal.record(ordinal, dict(update))
        grounding = deps.grounding
        if grounding is not None:  # the passages this sample is written from, cited and judged against
            hits = await grounding.index.asearch(update["topic"], grounding.top_k)
            update["passages"] = [hit.passage for hit in hits]
        return update

    async def generate(self, state: SampleState) -> Update:
        """Write the first draft."""
        deps = self.deps
        reply = await generate_dialogue(
            deps.models.generator,
            deps.pack,
            state["topic"],
            state.get("avoid", []),
            deps.config.exchanges,
            passages=state.get("passages", []),
        )
        return draft_update(state, reply, "generate", "generator")

    async def check(self, state: SampleState) -> Update:
        """Run the cheap checks: text checks, then near-duplicate, then similarity to the exemplars.

        The near-duplicate check comes first among the embedding checks because it rejects the
        sample at once: a duplicate's replies are never embedded, and never polished by a rewrite.
        """
        deps, turns = self.deps, state["turns"]
        config = deps.config
        failures = run_text_checks(deps.pack, turns)
        if deps.grounding is not None and deps.grounding.required and not failures:
            failures = check_grounding(turns, state.get("citations", []), state.get("passages", []))
        early_exemplar = None
        if not failures:
            if config.check_exemplar_similarity and config.prefetch_reply_embeddings:
                early_exemplar = self._exemplar_check(turns)  # alongside the near-duplicate check
            if config.near_duplicate_in_check:
                neighbor = await deps.memory.anear_duplicate(user_text(turns), deps.pack.near_duplicate_similarity)
                duplicate = check_near_duplicate(deps.pack, neighbor.similarity, neighbor.text) if neighbor else None
                failures = [duplicate] if duplicate else []
        if not failures and config.check_exemplar_similarity:
            similar = await (early_exemplar or self._exemplar_check(turns))
            failures = [similar] if similar else []
        return check_update(state, failures)

    def _exemplar_check(self, turns: list[Turn]) -> asyncio.Future[CheckFailure | None]:
        """Start the exemplar-similarity check in a worker thread; its result may go unused."""
        deps = self.deps
        future = asyncio.ensure_future(asyncio.to_thread(check_exemplar_similarity, deps.embedder, deps.pack, turns))
        future.add_done_callback(lambda done: done.cancelled() or done.exception())  # an unused one never warns
        return future

    async def judge(self, state: SampleState) -> Update:
        """Score the sample with the LLM judge and the style's rubric."""
        deps = self.deps
        verdict, usage = await judge_sample(
            deps.models.judge,
            deps.judge_plan,
            deps.pack.rubric,
            state["turns"],
            deps.pack.system_prompt,
            passages=state.get("passages", []),
            grounded=deps.config.grounded_criteria,
        )
        return verdict_update(state, verdict, usage, deps.pack.rubric)

    async def rewrite(self, state: SampleState) -> Update:
        """Repair the sample using the exact reasons it failed."""
        deps = self.deps
        reply = await rewrite_dialogue(
            deps.models.rewriter,
            deps.pack,
            state.get("turns", []),
            state["problems"],
            exchanges=deps.config.exchanges,
            passages=state.get("passages", []),
        )
        update = draft_update(state, reply, "rewrite", "rewriter")
        update["rewrites"] = 1
        return update

    async def accept(self, state: SampleState) -> Update:
        """Store the sample in the memory; a duplicate accepted meanwhile by a sibling is rejected.

        So is a spare when the job already has its n (``deps.take_seat``, graph/runner.py): it never
        reaches the memory.
        """
        deps, text = self.deps, user_text(state["turns"])
        async with deps.accept_lock:
            neighbor = await deps.memory.anear_duplicate(text, deps.pack.near_duplicate_similarity)
            if neighbor is not None:
                duplicate = check_near_duplicate(deps.pack, neighbor.similarity, neighbor.text)
                reason = duplicate.reason if duplicate else "near duplicate"
                return {"status": "rejected", "reject_reason": f"near_duplicate: {reason}"}
            if deps.take_seat is not None and not deps.take_seat(state["sample_id"]):
                return {"status": "rejected", "reject_reason": SURPLUS}  # a spare after the job's n-th
            await deps.memory.aadd_accepted(state["sample_id"], text, state["topic"], deps.job_id)
        return {"status": "accepted", "reject_reason": None}

    async def propose(self, state: SampleState) -> Update:
        """End a sample that passed every check as a candidate: whoever owns the memory accepts it or not."""
        return {"status": "pending", "reject_reason": None}

    async def reject(self, state: SampleState) -> Update:
        """Give up on the sample, keeping the last reason."""
        problems = state.get("problems") or ["unknown failure"]
        return {"status": "rejected", "reject_reason": f"{state.get('failure_code') or 'failed'}: {problems[0]}"}
