"""Alpaca rows: ``instruction``, ``input``, ``output``, optional ``system`` and ``history``.

As LLaMA-Factory reads them: the user's last turn is ``instruction`` and ``input`` joined by a
newline (an empty ``input`` left out), the reply is ``output``, and ``history`` holds earlier
``[user, assistant]`` pairs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from graph.datasets.formats.base import Converted, Dialogue, FieldError, Turns, check_turns, convert_rows, text
from graph.datasets.readers.base import RawBatch

ALPACA_COLUMNS = ("instruction", "input", "output", "system", "history")


@dataclass
class AlpacaFormat:
    """Instruction/output rows, with an optional history of earlier exchanges."""

    name: str = "alpaca"

    def read_schema(self) -> None:
        """Alpaca rows are read whole (their ``history`` varies in shape)."""
        return None

    def parse(self, record: dict[str, Any]) -> Dialogue:
        """Return the system prompt and turns of one row."""
        instruction = text(record.get("instruction"), "instruction")
        extra = text(record.get("input"), "input", required=False)
        output = text(record.get("output"), "output")
        system = text(record.get("system"), "system", required=False)
        turns: Turns = []
        history = record.get("history") or []
        if not isinstance(history, list):
            raise FieldError("history", "expected a list of [user, assistant] pairs")
        for index, pair in enumerate(history):
            if not isinstance(pair, list | tuple) or len(pair) != 2:
                raise FieldError(f"history[{index}]", "expected a [user, assistant] pair")
            turns.append(("user", text(pair[0], f"history[{index}][0]")))
            turns.append(("assistant", text(pair[1], f"history[{index}][1]")))
        prompt = f"{instruction}\n{extra}" if extra.strip() else instruction
        turns += [("user", prompt), ("assistant", output)]
        return system, check_turns(turns, lambda _: "history")

    def convert(self, batch: RawBatch) -> Converted:
        """Convert a batch row by row."""
        return convert_rows(batch, self.parse, range(len(batch)))

    def finish(self) -> None:
        """Nothing is held between batches."""
        return None
