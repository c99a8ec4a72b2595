"""Pure routing functions of the sample graph: where a sample goes after each step."""

from __future__ import annotations

from typing import Literal

from graph.state import SampleState


def _repair_or_reject(state: SampleState, max_rewrites: int) -> Literal["rewrite", "reject"]:
    """Send a failing sample to the rewriter while rewrites remain, else reject it."""
    return "rewrite" if state.get("rewrites", 0) < max_rewrites else "reject"


def after_draft(state: SampleState, max_rewrites: int) -> Literal["check", "rewrite", "reject"]:
    """Route a fresh draft: an unreadable answer is a failure like any other, else check it."""
    if state.get("failure_code") == "parse":
        return _repair_or_reject(state, max_rewrites)
    return "check"


def after_check(state: SampleState, max_rewrites: int) -> Literal["judge", "rewrite", "reject"]:
    """Route after the cheap checks: failures skip the judge (no judge call is spent).

    A near-duplicate is rejected at once: it is a topic problem, not a wording one, and a
    rewrite of a copied situation mostly copies it again; a fresh sample gets a fresh topic.
    """
    if state.get("failure_code") == "near_duplicate":
        return "reject"
    if state.get("problems"):
        return _repair_or_reject(state, max_rewrites)
    return "judge"


def after_judge(state: SampleState, max_rewrites: int) -> Literal["accept", "rewrite", "reject"]:
    """Route after the judge: pass means accept, else repair or reject."""
    verdict = state.get("verdict")
    if verdict is not None and verdict.passed:
        return "accept"
    return _repair_or_reject(state, max_rewrites)
