"""``length``: bounds per role in characters and in turns, and the structure a training row needs.

It merges consecutive turns of one speaker (chat exports split a thought over several messages),
drops a trailing user turn (a question with no answer teaches nothing), then drops rows with an
empty turn, too few or too many turns, a turn outside its role's bounds, or that do not start
with a user turn.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from agents.schemas import Sample, Turn
from graph.cleaning.base import KEEP, Change, Decision, Drop, OperatorParams, RowOperator


class LengthParams(OperatorParams):
    """Parameters of ``length``."""

    user_min_chars: int = Field(default=1, ge=0)
    user_max_chars: int = Field(default=4000, ge=1)
    assistant_min_chars: int = Field(default=2, ge=0)
    assistant_max_chars: int = Field(default=8000, ge=1)
    min_turns: int = Field(default=2, ge=1, description="Turns after merging (a user turn and a reply: 2).")
    max_turns: int = Field(default=64, ge=1)
    merge_consecutive: bool = Field(default=True, description="Join consecutive turns of one speaker.")
    drop_trailing_user: bool = Field(default=True, description="Remove a last user turn that has no reply.")

    @model_validator(mode="after")
    def _ordered(self) -> LengthParams:
        for role in ("user", "assistant"):
            low, high = getattr(self, f"{role}_min_chars"), getattr(self, f"{role}_max_chars")
            if low > high:
                raise ValueError(f"{role}_min_chars ({low}) is larger than {role}_max_chars ({high})")
        if self.min_turns > self.max_turns:
            raise ValueError(f"min_turns ({self.min_turns}) is larger than max_turns ({self.max_turns})")
        return self


def merge_consecutive(turns: list[Turn]) -> list[Turn]:
    """Join consecutive turns of the same role with a newline."""
    merged: list[Turn] = []
    for turn in turns:
        if merged and merged[-1].role == turn.role:
            merged[-1] = Turn(role=turn.role, content=f"{merged[-1].content}\n{turn.content}")
        else:
            merged.append(turn)
    return merged


class Length(RowOperator):
    """Bounds per role and turn count; merge same-speaker turns; drop a trailing user turn."""

    name = "length"
    summary = "Per-role character bounds, turn bounds; merges same-speaker turns, drops a trailing user turn."
    Params = LengthParams
    params: LengthParams

    def decide(self, sample: Sample) -> Decision:
        """Fix the structure, then drop the row if a bound is broken."""
        params, turns, what = self.params, list(sample.turns), []
        if any(not turn.content.strip() for turn in turns):
            return Drop("empty_turn", "a turn is empty")
        if params.merge_consecutive:
            merged = merge_consecutive(turns)
            if len(merged) != len(turns):
                turns, what = merged, ["merged_turns"]
        if params.drop_trailing_user and len(turns) > 1 and turns[-1].role == "user":
            turns, what = turns[:-1], [*what, "trailing_user"]
        if not turns or turns[0].role != "user":
            return Drop("structure", "the dialogue does not start with a user turn")
        if not params.min_turns <= len(turns) <= params.max_turns:
            code = "too_few_turns" if len(turns) < params.min_turns else "too_many_turns"
            return Drop(code, f"{len(turns)} turns; allowed {params.min_turns}-{params.max_turns}")
        for turn in turns:
            size = len(turn.content.strip())
            low, high = getattr(params, f"{turn.role}_min_chars"), getattr(params, f"{turn.role}_max_chars")
            if size < low:
                return Drop("too_short", f"a {turn.role} turn has {size} characters; minimum {low}")
            if size > high:
                return Drop("too_long", f"a {turn.role} turn has {size} characters; maximum {high}")
        return Change(turns=turns, what="+".join(what)) if what else KEEP
