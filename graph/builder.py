"""Assemble the per-sample LangGraph from its nodes and routers."""

from __future__ import annotations

from functools import partial
from typing import Any

from langgraph.graph import END, START, StateGraph

from graph import routing
from graph.nodes import LoopDeps, SampleNodes
from graph.state import SampleState

DRAFT_ROUTES = ["check", "rewrite", "reject"]
CHECK_ROUTES = ["judge", "rewrite", "reject"]
JUDGE_ROUTES = ["accept", "rewrite", "reject"]


def build_graph(deps: LoopDeps, checkpointer: Any | None = None) -> Any:
    """Build and compile the sample graph: plan_topic -> generate -> check -> judge -> accept.

    Failures go to ``rewrite`` (at most ``deps.config.max_rewrites`` times) and then ``reject``.

    Args:
        deps: Models, memory, embedder, topic planner, judge prompt and loop settings.
        checkpointer: An optional LangGraph checkpointer (e.g. ``InMemorySaver``).

    Returns:
        The compiled graph; invoke it with ``{"sample_id": ..., "topic": optional}``.
    """
    nodes = SampleNodes(deps)
    limit = deps.config.max_rewrites
    builder = StateGraph(SampleState)
    builder.add_node("plan_topic", nodes.plan_topic)
    builder.add_node("generate", nodes.generate)
    builder.add_node("check", nodes.check)
    builder.add_node("judge", nodes.judge)
    builder.add_node("rewrite", nodes.rewrite)
    builder.add_node("accept", nodes.accept)
    builder.add_node("reject", nodes.reject)
    builder.add_edge(START, "plan_topic")
    builder.add_edge("plan_topic", "generate")
    builder.add_conditional_edges("generate", partial(routing.after_draft, max_rewrites=limit), DRAFT_ROUTES)
    builder.add_conditional_edges("rewrite", partial(routing.after_draft, max_rewrites=limit), DRAFT_ROUTES)
    builder.add_conditional_edges("check", partial(routing.after_check, max_rewrites=limit), CHECK_ROUTES)
    builder.add_conditional_edges("judge", partial(routing.after_judge, max_rewrites=limit), JUDGE_ROUTES)
    builder.add_edge("accept", END)
    builder.add_edge("reject", END)
    return builder.compile(checkpointer=checkpointer)


def build_repair_graph(deps: LoopDeps, checkpointer: Any | None = None) -> Any:
    """Build the loop for an existing sample that failed a check: rewrite -> check -> judge -> accept.

    The same nodes and routers as :func:`build_graph`, entered at ``rewrite``: invoke it with the
    sample's ``turns``, the ``problems`` to fix and its ``attempts`` so far (cleaning's
    ``refusals:rewrite`` sends a refusing reply through it).
    """
    nodes = SampleNodes(deps)
    limit = deps.config.max_rewrites
    builder = StateGraph(SampleState)
    for name in ("rewrite", "check", "judge", "accept", "reject"):
        builder.add_node(name, getattr(nodes, name))
    builder.add_edge(START, "rewrite")
    builder.add_conditional_edges("rewrite", partial(routing.after_draft, max_rewrites=limit), DRAFT_ROUTES)
    builder.add_conditional_edges("check", partial(routing.after_check, max_rewrites=limit), CHECK_ROUTES)
    builder.add_conditional_edges("judge", partial(routing.after_judge, max_rewrites=limit), JUDGE_ROUTES)
    builder.add_edge("accept", END)
    builder.add_edge("reject", END)
    return builder.compile(checkpointer=checkpointer)


def recursion_limit(deps: LoopDeps) -> int:
    """Return a LangGraph step limit that the bounded loop can never reach legitimately."""
    return 8 + 4 * (deps.config.max_rewrites + 1)
