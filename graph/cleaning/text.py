"""The base of operators that edit the text of each turn (normalize, strip-html, pii)."""

from __future__ import annotations

from abc import abstractmethod

from agents.schemas import Sample, Turn
from graph.cleaning.base import KEEP, Change, Decision, RowOperator


class TextEditOperator(RowOperator):
    """An operator that edits every turn's text the same way and keeps or changes the row."""

    @abstractmethod
    def edit(self, text: str) -> tuple[str, set[str]]:
        """Return the edited text and the codes of the edits made (empty when nothing changed)."""

    def decide(self, sample: Sample) -> Decision:
        """Edit every turn; the row is changed when any turn's text changed."""
        codes: set[str] = set()
        turns: list[Turn] = []
        changed = False
        for turn in sample.turns:
            text, made = self.edit(turn.content)
            if text != turn.content:
                changed = True
                codes |= made
                turns.append(Turn(role=turn.role, content=text))
            else:
                turns.append(turn)
        if not changed:
            return KEEP
        return Change(turns=turns, what="+".join(sorted(codes)) or self.name)
