"""The state one sample carries through the graph, and the loop's settings."""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Annotated, Literal, TypedDict

from agents.knowledge.passage import Passage
from agents.schemas import Attempt, TokenUsage, Turn, Verdict

Status = Literal["pending", "accepted", "rejected"]


def merge_usage(left: dict[str, TokenUsage], right: dict[str, TokenUsage]) -> dict[str, TokenUsage]:
    """Add token usage per role (the reducer of ``SampleState.usage``)."""
    merged = dict(left)
    for role, usage in right.items():
        merged[role] = merged.get(role, TokenUsage()) + usage
    return merged


class SampleState(TypedDict, total=False):
    """Everything the nodes of one sample's graph read and write."""

    sample_id: str
    ordinal: int  # the sample's number in its job (the call cache's replay key)
    topic: str
    avoid: list[str]
    passages: list[Passage]
    turns: list[Turn]
    cited: list[str]
    citations: list[list[str]]
    attempts: list[Attempt]
    problems: list[str]
    failure_code: str | None
    verdict: Verdict | None
    rewrites: Annotated[int, operator.add]
    usage: Annotated[dict[str, TokenUsage], merge_usage]
    status: Status
    reject_reason: str | None


@dataclass(frozen=True)
class LoopConfig:
    """Bounds and knobs of the per-sample loop."""

    max_rewrites: int = 2
    exchanges: int = 1
    avoid_neighbors: int = 5
    check_exemplar_similarity: bool = True
    # Run the exemplar check (which embeds the replies) alongside the near-duplicate check: one
    # round trip fewer per sample for a remote embedder, at the cost of embedding the replies of
    # duplicates too (not worth it for e5, whose CPU time is the bottleneck).
    prefetch_reply_embeddings: bool = False
    # Reject near-duplicates of the memory in the cheap checks (before the judge). A Ray worker has no
    # memory: there the coordinator's acceptance alone compares a sample with what was accepted.
    near_duplicate_in_check: bool = True
    # Criteria a grounded sample's judge scores against its reference passages.
    grounded_criteria: frozenset[str] = frozenset({"correctness"})

    def __post_init__(self) -> None:
        if not 0 <= self.max_rewrites <= 10:
            raise ValueError("max_rewrites must be between 0 and 10")
        if not 1 <= self.exchanges <= 6:
            raise ValueError("exchanges must be between 1 and 6")
