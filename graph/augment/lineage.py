"""An augmented child as a stored sample: accepted or rejected, with its lineage.

Every finished child is stored (the job store keeps rejected ones too), so its lineage always
names the operator, the parameters with the ``variant`` number, the parent id and version: that
is how a resumed job knows which children are already made (``graph.augment.source.child_key``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from agents.augment.operator import ChildRequest, Operator
from agents.llm import RoleModels
from agents.schemas import Lineage, Sample, utc_now
from agents.styles import StylePack
from graph.augment.loop import ChildState


def prompt_hashes(operator: Operator[Any]) -> dict[str, str]:
    """Return the content hashes of the operator's prompts and the rewriter's (for lineage)."""
    from agents.prompting import role_prompt

    hashes = {f"operator:{name}": role_prompt(name).digest for name in operator.prompt_files()}
    hashes["rewriter"] = role_prompt("rewriter").digest
    return hashes


def child_sample(
    operator: Operator[Any],
    request: ChildRequest[Any],
    final: ChildState,
    started: datetime,
    *,
    pack: StylePack,
    models: RoleModels,
    parent_version: str | None,
) -> Sample:
    """Build the finished child (accepted, or rejected with its reason) with its lineage."""
    parent, params = request.parent, request.params
    system = pack.system_prompt if operator.needs_style or not parent.system else parent.system
    notes = operator.lineage(request, final.get("notes", {})) if final.get("status") == "accepted" else {}
    accepted = final.get("status") == "accepted"
    return Sample(
        id=final["sample_id"],
        status="accepted" if accepted else "rejected",
        system=system,
        turns=final.get("turns", []),
        reject_reason=None if accepted else (final.get("reject_reason") or "unknown: no reason recorded"),
        attempts=final.get("attempts", []),
        lineage=Lineage(
            origin="augmented",
            style=pack.name,
            topic=parent.lineage.topic,
            models=dict(models.names),
            prompt_hashes=prompt_hashes(operator),
            tokens=final.get("usage", {}),
            operator=operator.name,
            params={**params.model_dump(mode="json", exclude={"op"}), "variant": request.variant, **notes},
            parent_id=parent.id,
            parent_version=parent_version,
            started_at=started,
            finished_at=utc_now(),
        ),
    )
