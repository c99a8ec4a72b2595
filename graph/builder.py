"""Assemble the per-sample LangGraph from its nodes and routers."""

from __future__ import annotations

from collections.abc import Hashable
from functools import partial
from typing import Any

from langgraph.graph import END, START, StateGraph

from graph import routing
from graph.nodes import LoopDeps, SampleNodes
from graph.state import SampleState

DRAFT_ROUTES = ["check", "rewrite", "reject"]
CHECK_ROUTES = ["judge", "rewrite", "reject"]
JUDGE_ROUTES = ["accept", "rewrite", "reject"]


def _add_loop(builder: StateGraph, nodes: SampleNodes, limit: int, finish: str) -> None:
    """Add the draft -> check -> judge loop with its rewrite and reject routes, passing samples to ``finish``."""
    for name in ("check", "judge", "rewrite", finish, "reject"):
        builder.add_node(name, getattr(nodes, name))
    judge_routes: dict[Hashable, str] = {"accept": finish, "rewrite": "rewrite", "reject": "reject"}
    builder.add_conditional_edges("rewrite", partial(routing.after_draft, max_rewrites=limit), DRAFT_ROUTES)
    builder.add_conditional_edges("check", partial(routing.after_check, max_rewrites=limit), CHECK_ROUTES)
    builder.add_conditional_edges("judge", partial(routing.after_judge, max_rewrites=limit), judge_routes)
    builder.add_edge(finish, END)
    builder.add_edge("reject", END)


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
    _add_loop(builder, nodes, limit, "accept")
    builder.add_edge(START, "plan_topic")
    builder.add_edge("plan_topic", "generate")
    builder.add_conditional_edges("generate", partial(routing.after_draft, max_rewrites=limit), DRAFT_ROUTES)
    return builder.compile(checkpointer=checkpointer)


def build_candidate_graph(deps: LoopDeps) -> Any:
    """Build the loop a remote worker runs for a planned sample: generate -> check -> judge -> propose.

    The same nodes and routers as :func:`build_graph` without the two that need the memory: the
    caller planned the topic (``plan_topic``), and a sample that passes ends ``pending`` (``propose``)
    for the memory's owner to accept or reject as a near-duplicate.
    """
    nodes = SampleNodes(deps)
    limit = deps.config.max_rewrites
    builder = StateGraph(SampleState)
    builder.add_node("generate", nodes.generate)
    _add_loop(builder, nodes, limit, "propose")
    builder.add_edge(START, "generate")
    builder.add_conditional_edges("generate", partial(routing.after_draft, max_rewrites=limit), DRAFT_ROUTES)
    return builder.compile()


def build_repair_graph(deps: LoopDeps, checkpointer: Any | None = None) -> Any:
    """Build the loop for an existing sample that failed a check: rewrite -> check -> judge -> accept.

    The same nodes and routers as :func:`build_graph`, entered at ``rewrite``: invoke it with the
    sample's ``turns``, the ``problems`` to fix and its ``attempts`` so far (cleaning's
    ``refusals:rewrite`` sends a refusing reply through it).
    """
    nodes = SampleNodes(deps)
    builder = StateGraph(SampleState)
    _add_loop(builder, nodes, deps.config.max_rewrites, "accept")
    builder.add_edge(START, "rewrite")
    return builder.compile(checkpointer=checkpointer)


def recursion_limit(deps: LoopDeps) -> int:
    """Return a LangGraph step limit that the bounded loop can never reach legitimately."""
    return 8 + 4 * (deps.config.max_rewrites + 1)
