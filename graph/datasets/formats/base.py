"""What every input format shares: the dialogue table it produces and the exact per-row checks.

A format turns raw rows into dialogues: a table of ``system`` (text), ``turns`` (a list of
``{role, content}``), ``source_row`` and ``source_row_end`` (the rows it came from). Every turn
list must alternate user/assistant, start with the user and end with the assistant, and every
turn must have text; a row that breaks a rule becomes a ``RowProblem`` naming the field.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import pyarrow as pa

from graph.datasets.errors import RowProblem
from graph.datasets.readers.base import RawBatch
from graph.datasets.rows import TURNS_TYPE

DIALOGUE_SCHEMA = pa.schema(
    [("system", pa.string()), ("turns", TURNS_TYPE), ("source_row", pa.int64()), ("source_row_end", pa.int64())]
)
Turns = list[tuple[str, str]]
Dialogue = tuple[str, Turns]


class FieldError(ValueError):
    """One field of a row is wrong; ``field`` is its path, e.g. ``conversations[2].from``."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass
class Converted:
    """What a format made of one batch: dialogues, rows it could not use, input left out by design."""

    table: pa.Table
    problems: list[RowProblem] = field(default_factory=list)
    dropped: dict[str, int] = field(default_factory=dict)


class Format(Protocol):
    """One input format (ShareGPT, OpenAI messages, Alpaca, mapped pairs, chat logs, raw samples)."""

    name: str
    """The format's name as ``--format`` spells it."""

    def read_schema(self) -> pa.Schema | None:
        """Return the fields this format reads (given to readers that can parse only those)."""
        ...

    def convert(self, batch: RawBatch) -> Converted:
        """Turn one batch of raw rows into dialogues."""
        ...

    def finish(self) -> Converted | None:
        """Return what is still held when the input ends (formats that group rows), else None."""
        ...


def text(value: Any, where: str, *, required: bool = True) -> str:
    """Return ``value`` if it is text (non-blank when ``required``).

    Raises:
        FieldError: The value is missing, not a string, or blank.
    """
    if value is None:
        if required:
            raise FieldError(where, "missing")
        return ""
    if not isinstance(value, str):
        raise FieldError(where, f"expected text, got {type(value).__name__} {str(value)[:40]!r}")
    if required and not value.strip():
        raise FieldError(where, "empty text")
    return value


def check_turns(turns: Turns, where: Callable[[int], str]) -> Turns:
    """Return ``turns`` if they alternate user/assistant, start with user and end with assistant.

    Raises:
        FieldError: Naming the first turn out of order (``where(i)`` names turn ``i``'s field).
    """
    if not turns:
        raise FieldError(where(0), "no user/assistant turns")
    for index, (role, _) in enumerate(turns):
        expected = "user" if index % 2 == 0 else "assistant"
        if role != expected:
            raise FieldError(
                where(index), f"turn {index + 1} is {role!r}, expected {expected!r} (turns must alternate)"
            )
    if len(turns) % 2:
        raise FieldError(where(len(turns) - 1), "the last turn is the user's; a dialogue must end with the assistant")
    return turns


def dialogue_table(items: list[tuple[str, Turns, int, int | None]]) -> pa.Table:
    """Build a ``DIALOGUE_SCHEMA`` table from ``(system, turns, row, row_end)`` tuples."""
    return pa.Table.from_pydict(
        {
            "system": [system for system, _, _, _ in items],
            "turns": [[{"role": r, "content": c} for r, c in turns] for _, turns, _, _ in items],
            "source_row": [row for _, _, row, _ in items],
            "source_row_end": [end for _, _, _, end in items],
        },
        schema=DIALOGUE_SCHEMA,
    )


def convert_rows(batch: RawBatch, parse: Callable[[dict[str, Any]], Dialogue], indices: range | list[int]) -> Converted:
    """Convert rows one by one with ``parse`` (the exact path): good rows and one problem per bad row."""
    items: list[tuple[str, Turns, int, int | None]] = []
    whole = isinstance(indices, range)
    problems = list(batch.problems) if whole else []
    records = batch.all_records() if whole else None
    for index in indices:
        record = records[index] if records is not None else batch.record(index)
        try:
            system, turns = parse(record)
        except FieldError as error:
            problems.append(RowProblem(batch.file, batch.rows[index], error.field, str(error), record))
            continue
        items.append((system, turns, batch.rows[index], None))
    return Converted(dialogue_table(items), problems)
