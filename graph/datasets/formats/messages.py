"""Message lists: ShareGPT (``conversations`` of ``{from, value}``), OpenAI (``messages`` of ``{role, content}``).

Both name roles with tags: ``human``/``user`` play the user; ``gpt``/``assistant`` (and the
aliases public sets use: ``chatgpt``, ``bing``, ``bard``, ``model``, ``bot``) the assistant; a
``system`` message is allowed first and becomes the system prompt, as does a row's ``system``
field. Tool roles (``function_call``, ``observation``, ``tool``, ...) are refused with a clear
message: a sample here is a user/assistant dialogue.

Arrow tables take a vectorised path (role codes, positions and alternation checked with NumPy
over the whole batch); only the rows it flags are checked again one by one, so each problem
names its exact field.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from graph.datasets.formats.base import (
    DIALOGUE_SCHEMA,
    Converted,
    Dialogue,
    FieldError,
    Turns,
    check_turns,
    convert_rows,
    text,
)
from graph.datasets.readers.base import RawBatch

USER_TAGS = ("human", "user")
ASSISTANT_TAGS = ("gpt", "assistant", "chatgpt", "bing", "bard", "model", "bot")
SYSTEM_TAGS = ("system", "developer")
TOOL_TAGS = ("function_call", "observation", "tool", "function", "ipython", "tool_call", "tool_response")
_CODES = np.array([0] * len(USER_TAGS) + [1] * len(ASSISTANT_TAGS) + [2] * len(SYSTEM_TAGS), dtype=np.int8)
_USER, _ASSISTANT, _SYSTEM, _OTHER = 0, 1, 2, 3


@cache
def _known_tags() -> pa.Array:
    """Return the role tags understood, as Arrow (built on first use: ``pa.array`` imports pandas, 0.3 s)."""
    return pa.array([*USER_TAGS, *ASSISTANT_TAGS, *SYSTEM_TAGS])


@cache
def _role_names() -> pa.Array:
    """Return the stored role names by code (0 user, 1 assistant), as Arrow, built on first use."""
    return pa.array(["user", "assistant"])


def role_of(tag: Any, where: str) -> int:
    """Return the role code of a tag (0 user, 1 assistant, 2 system).

    Raises:
        FieldError: The tag is a tool role or unknown; the message lists the tags understood.
    """
    if isinstance(tag, str):
        lowered = tag.lower()
        if lowered in USER_TAGS:
            return _USER
        if lowered in ASSISTANT_TAGS:
            return _ASSISTANT
        if lowered in SYSTEM_TAGS:
            return _SYSTEM
        if lowered in TOOL_TAGS:
            raise FieldError(
                where,
                f"role {tag!r} is a tool message, which dialogforge does not keep (samples are user/assistant "
                "dialogues); remove such rows or skip them with --on-error skip",
            )
    raise FieldError(where, f"unknown role {tag!r}; use one of {', '.join(USER_TAGS + ASSISTANT_TAGS + SYSTEM_TAGS)}")


@dataclass
class MessagesFormat:
    """A list of messages in ``column``, each with a role under ``role_key`` and text under ``content_key``."""

    name: str
    column: str
    role_key: str
    content_key: str

    def read_schema(self) -> pa.Schema:
        """Return the fields read: the message list and a row-level ``system``."""
        message = pa.struct([(self.role_key, pa.string()), (self.content_key, pa.string())])
        return pa.schema([(self.column, pa.list_(message)), ("system", pa.string())])

    def parse(self, record: dict[str, Any]) -> Dialogue:
        """Return the system prompt and turns of one row (the exact path)."""
        messages = record.get(self.column)
        if messages is None:
            raise FieldError(self.column, "missing")
        if not isinstance(messages, list):
            raise FieldError(self.column, f"expected a list of messages, got {type(messages).__name__}")
        system = text(record.get("system"), "system", required=False)
        turns: Turns = []
        for index, message in enumerate(messages):
            where = f"{self.column}[{index}]"
            if not isinstance(message, dict):
                raise FieldError(where, f"expected an object with {self.role_key!r} and {self.content_key!r}")
            role = role_of(message.get(self.role_key), f"{where}.{self.role_key}")
            content = text(message.get(self.content_key), f"{where}.{self.content_key}")
            if role == _SYSTEM:
                if index != 0:
                    raise FieldError(f"{where}.{self.role_key}", "a system message may only come first")
                system = system or content
                continue
            turns.append(("user" if role == _USER else "assistant", content))
        offset = 1 if messages and role_of(messages[0].get(self.role_key), "") == _SYSTEM else 0
        check_turns(turns, lambda i: f"{self.column}[{i + offset}].{self.role_key}")
        return system, turns

    def convert(self, batch: RawBatch) -> Converted:
        """Convert a batch: vectorised for Arrow tables, row by row otherwise."""
        if batch.table is None or not self._vectorisable(batch.table.schema):
            return convert_rows(batch, self.parse, range(len(batch)))
        try:
            return self._convert_table(batch)
        except (pa.ArrowInvalid, pa.ArrowTypeError, KeyError):  # an unexpected shape: take the exact path
            return convert_rows(batch, self.parse, range(len(batch)))

    def finish(self) -> None:
        """Nothing is held between batches."""
        return None

    def _vectorisable(self, schema: pa.Schema) -> bool:
        """Whether the column is a list of structs with text role and content (else: the exact path)."""
        if self.column not in schema.names:
            return False
        kind = schema.field(self.column).type
        if not (pa.types.is_list(kind) and pa.types.is_struct(kind.value_type)):
            return False
        fields = {field.name: field.type for field in kind.value_type}
        return all(pa.types.is_string(fields.get(key, pa.null())) for key in (self.role_key, self.content_key))

    def _convert_table(self, batch: RawBatch) -> Converted:
        assert batch.table is not None
        table = batch.table
        count = table.num_rows
        messages = table[self.column].combine_chunks()
        if isinstance(messages, pa.ChunkedArray):  # an empty table
            messages = messages.combine_chunks() if messages.num_chunks else pa.array([], messages.type)
        offsets = messages.offsets.to_numpy(zero_copy_only=False).astype(np.int64)
        start, end = int(offsets[0]), int(offsets[-1])
        values = messages.values.slice(start, end - start)
        offsets -= start
        lengths = np.diff(offsets)
        parent = np.repeat(np.arange(count), lengths)
        position = np.arange(len(values)) - offsets[:-1][parent]

        found = pc.index_in(pc.ascii_lower(values.field(self.role_key)), value_set=_known_tags())
        index = found.to_numpy(zero_copy_only=False)
        codes = np.where(np.isnan(index), _OTHER, _CODES[np.nan_to_num(index).astype(np.int64)]).astype(np.int8)
        contents = values.field(self.content_key)
        blank = pc.fill_null(pc.or_(pc.utf8_is_space(contents), pc.equal(pc.binary_length(contents), 0)), True)

        system_first = (codes == _SYSTEM) & (position == 0)
        bad_value = (codes == _OTHER) | ((codes == _SYSTEM) & (position > 0)) | blank.to_numpy(zero_copy_only=False)
        keep = ~system_first
        kept_counts = np.bincount(parent[keep], minlength=count)
        kept_rank = np.cumsum(keep) - 1
        first_kept = np.concatenate([[0], np.cumsum(kept_counts)[:-1]])
        new_position = kept_rank - first_kept[parent]
        out_of_order = keep & (codes != (new_position % 2))
        bad = np.bincount(parent[bad_value | out_of_order], minlength=count) > 0
        bad |= (kept_counts == 0) | (kept_counts % 2 == 1)
        bad |= ~messages.is_valid().to_numpy(zero_copy_only=False)

        system = self._system(table, values, system_first, parent, count)
        good = ~bad
        value_mask = keep & good[parent]
        roles = pc.take(_role_names(), pa.array(codes[value_mask]))
        turn_values = pa.StructArray.from_arrays([roles, contents.filter(pa.array(value_mask))], ["role", "content"])
        good_counts = kept_counts[good]
        turns = pa.ListArray.from_arrays(
            pa.array(np.concatenate([[0], np.cumsum(good_counts)]), pa.int32()), turn_values
        )
        rows = np.asarray(batch.rows, dtype=np.int64)
        dialogues = pa.Table.from_arrays(
            [system.filter(pa.array(good)), turns, pa.array(rows[good]), pa.nulls(int(good.sum()), pa.int64())],
            schema=DIALOGUE_SCHEMA,
        )
        rechecked = convert_rows(batch, self.parse, [int(i) for i in np.flatnonzero(bad)])
        table_out = dialogues
        if rechecked.table.num_rows:  # rows the vectorised checks flagged but that pass: keep file order
            table_out = pa.concat_tables([dialogues, rechecked.table]).sort_by("source_row")
        return Converted(table_out, [*batch.problems, *rechecked.problems])

    def _system(
        self, table: pa.Table, values: pa.StructArray, first: np.ndarray, parent: np.ndarray, count: int
    ) -> pa.Array:
        """Return each row's system prompt: its ``system`` field, else a leading system message."""
        if "system" in table.column_names and pa.types.is_string(table.schema.field("system").type):
            given = pc.fill_null(table["system"].combine_chunks(), "")
        else:
            given = pa.array([""] * count, pa.string())
        if not first.any():
            return given
        system = given.to_numpy(zero_copy_only=False).astype(object)
        texts = values.field(self.content_key).filter(pa.array(first)).to_pylist()
        for row, value in zip(parent[first], texts, strict=True):
            if not system[row]:
                system[row] = value
        return pa.array(system, pa.string())
