"""One batch of a version on its way through the chain: the rows as Arrow, and what operators did to them.

The main process never turns a whole batch into ``Sample`` objects: the rows stay an Arrow
table (cheap to slice, to send to a worker process and to write), and only what operators
changed is kept beside it, by row: new turns, appended attempts, the names of the operators
that changed the row. Workers turn the rows they receive into light ``Sample`` objects (built
without validation: the store validated them when they were written), which is all a rule
operator reads. Full samples are built only for the few rows an LLM operator or a report
example needs.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from agents.schemas import Attempt, Lineage, Sample, Turn
from graph.datasets.rows import INPUT_SCHEMA, TURNS_TYPE, row_sample

WORKER_COLUMNS = ("id", "system", "turns")
"""What rule operators read; only these columns travel to the worker processes."""
_LINEAGE = Lineage()
TurnRows = list[dict[str, str]]


def light_samples(batch: pa.Table | pa.RecordBatch) -> list[Sample]:
    """Return the rows of a (worker) batch as samples built without validation: id, system and turns only."""
    ids = batch.column("id").to_pylist()
    systems = batch.column("system").to_pylist()
    construct_turn, construct_sample = Turn.model_construct, Sample.model_construct
    return [
        construct_sample(
            id=sample_id,
            status="accepted",
            system=system or "",
            turns=[construct_turn(role=turn["role"], content=turn["content"]) for turn in turns or ()],
            attempts=[],
            lineage=_LINEAGE,
        )
        for sample_id, system, turns in zip(ids, systems, batch.column("turns").to_pylist(), strict=True)
    ]


def turn_rows(turns: list[Turn]) -> TurnRows:
    """Return turns as the plain dicts the ``turns`` column holds (cheap to pickle)."""
    return [{"role": turn.role, "content": turn.content} for turn in turns]


def _replace(column: pa.ChunkedArray | pa.Array, rows: list[int], new: dict[int, Any], kind: pa.DataType) -> pa.Array:
    """Return ``column`` taken at ``rows``, with the values in ``new`` (by row) put in place."""
    taken = column.take(pa.array(rows, pa.int64()))
    if isinstance(taken, pa.ChunkedArray):
        taken = taken.combine_chunks()
    replaced = [position for position, row in enumerate(rows) if row in new]
    if not replaced:
        return taken
    values = pa.array([new[rows[position]] for position in replaced], kind)
    picks = np.arange(len(rows), dtype=np.int64)
    picks[replaced] = len(rows) + np.arange(len(replaced), dtype=np.int64)
    return pa.concat_arrays([taken, values]).take(pa.array(picks))


class BatchState:
    """One batch in the main process: the rows as read, their current turns, and who changed them."""

    def __init__(self, table: pa.Table) -> None:
        """Hold a batch of ``rows.SCHEMA`` or ``rows.INPUT_SCHEMA`` rows."""
        self.table = table.select(INPUT_SCHEMA.names)
        self.ids: list[str] = self.table.column("id").to_pylist()
        self.turns: dict[int, TurnRows] = {}
        self.attempts: dict[int, list[Attempt]] = {}
        self.changed_by: dict[int, list[str]] = {}

    def __len__(self) -> int:
        return self.table.num_rows

    def change(self, row: int, operator: str, turns: TurnRows, attempts: tuple[Attempt, ...] = ()) -> None:
        """Record that ``operator`` gave a row new turns (and attempts to append)."""
        self.turns[row] = turns
        if attempts:
            self.attempts.setdefault(row, []).extend(attempts)
        self.changed_by.setdefault(row, []).append(operator)

    def view(self, rows: list[int]) -> pa.Table:
        """Return the worker columns of these rows with their current turns."""
        columns = [
            _replace(self.table.column(name), rows, self.turns, TURNS_TYPE)
            if name == "turns"
            else self.table.column(name).take(pa.array(rows, pa.int64()))
            for name in WORKER_COLUMNS
        ]
        return pa.table(columns, names=list(WORKER_COLUMNS))

    def sample(self, row: int) -> Sample:
        """Return one row as a full, validated sample with its current turns and attempts."""
        sample = row_sample(self.table.slice(row, 1).to_pylist()[0])
        update: dict[str, Any] = {}
        if row in self.turns:
            update["turns"] = [Turn.model_validate(turn) for turn in self.turns[row]]
        if row in self.attempts:
            update["attempts"] = [*sample.attempts, *self.attempts[row]]
        return sample.model_copy(update=update) if update else sample

    def output(self, rows: list[int]) -> pa.Table:
        """Return these rows (``rows.INPUT_SCHEMA``) with their current turns and attempts."""
        attempts = {
            row: _appended(self.table.column("attempts")[row].as_py(), extra) for row, extra in self.attempts.items()
        }
        columns = []
        for name in INPUT_SCHEMA.names:
            column = self.table.column(name)
            if name == "turns":
                columns.append(_replace(column, rows, self.turns, TURNS_TYPE))
            elif name == "attempts":
                columns.append(_replace(column, rows, attempts, pa.string()))
            else:
                columns.append(column.take(pa.array(rows, pa.int64())))
        return pa.Table.from_arrays(columns, schema=INPUT_SCHEMA)


def _appended(stored: str | None, extra: list[Attempt]) -> str:
    """Return a row's attempts column (JSON text) with more attempts at the end."""
    attempts = [*json.loads(stored or "[]"), *(attempt.model_dump(mode="json") for attempt in extra)]
    return json.dumps(attempts, ensure_ascii=False, sort_keys=True)


def dialogue_sizes(turns: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """Return per row the characters of all its turns and the number of turns (vectorized)."""
    if isinstance(turns, pa.ChunkedArray):
        turns = turns.combine_chunks()
    counts = pc.fill_null(pc.list_value_length(turns), 0).to_numpy(zero_copy_only=False).astype(np.int64)
    contents = pc.list_flatten(turns).field("content")
    lengths = pc.fill_null(pc.utf8_length(contents), 0).to_numpy(zero_copy_only=False).astype(np.int64)
    ends = np.cumsum(counts)
    totals = np.concatenate([[0], np.cumsum(lengths)])
    return totals[ends] - totals[ends - counts], counts
