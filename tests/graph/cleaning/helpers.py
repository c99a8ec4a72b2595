"""Small rows for the cleaning tests."""

from __future__ import annotations

from agents.schemas import Lineage, Sample, Turn


def row(sample_id: str, *texts: str, roles: list[str] | None = None) -> Sample:
    """Return a sample whose turns alternate user/assistant (or follow ``roles``)."""
    roles = roles or ["user" if index % 2 == 0 else "assistant" for index in range(len(texts))]
    turns = [Turn(role=role, content=text) for role, text in zip(roles, texts, strict=True)]  # type: ignore[arg-type]
    return Sample(id=sample_id, status="accepted", system="", turns=turns, lineage=Lineage(style="", topic=""))


def texts(sample: Sample) -> list[str]:
    """Return the turns' texts."""
    return [turn.content for turn in sample.turns]
