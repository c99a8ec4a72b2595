"""What a job records: each stored sample with its lineage, the prompts' hashes, the judge prompt's name."""

from __future__ import annotations

from typing import Any

from agents.prompting import role_prompt
from agents.schemas import Lineage, Sample, utc_now
from graph.nodes import LoopDeps


def sample_from_state(
    deps: LoopDeps,
    job_id: str,
    hashes: dict[str, str],
    sample_id: str,
    state: dict[str, Any],
    started_at: Any,
    parent_id: str | None = None,
) -> Sample:
    """Build the stored sample, with its lineage, from the graph's final state (and its work item's parent)."""
    lineage = Lineage(
        style=deps.pack.name,
        topic=state.get("topic", ""),
        job_id=job_id,
        workspace=deps.memory.workspace,
        models=dict(deps.models.names),
        prompt_hashes=hashes,
        tokens=state.get("usage", {}),
        parent_id=parent_id,
        knowledge=deps.grounding.index.name if deps.grounding else None,
        passages=list(state.get("cited", [])) if deps.grounding else [],
        started_at=started_at,
        finished_at=utc_now(),
    )
    status = "accepted" if state.get("status") == "accepted" else "rejected"
    return Sample(
        id=sample_id,
        status=status,
        system=deps.pack.system_prompt,
        turns=state.get("turns", []),
        reject_reason=state.get("reject_reason") if status == "rejected" else None,
        attempts=state.get("attempts", []),
        lineage=lineage,
    )


def judge_prompt_name(deps: LoopDeps) -> str:
    """Name the judge prompt of the job: one name when every criterion uses it, else ``criterion=prompt`` pairs."""
    plan = deps.judge_plan
    names = {template.name for template in plan.templates.values()}
    return names.pop() if len(names) == 1 else plan.describe()


def prompt_hashes(deps: LoopDeps) -> dict[str, str]:
    """Return the content hashes of every prompt and of the style pack, for lineage."""
    return {
        "generator": role_prompt("generator").digest,
        "rewriter": role_prompt("rewriter").digest,
        "topics": role_prompt("topics").digest,
        **deps.judge_plan.digests(),
        "style": deps.pack.digest(),
    }
