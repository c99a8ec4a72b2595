"""A segment's result as extra columns of the batch it was computed on, and back.

A worker process hands its ``SegmentResult`` (``graph.cleaning.segment``) to the main process as
a Python object for one whole batch. A Ray Data ``map_batches`` stage can only return a table,
and the driver may receive the rows in batches cut differently from the ones the workers saw, so
here the result travels **per row**, beside the row's own columns:

- ``_df_events``: the row's decisions other than keep, as ``(operator position, bucket, code)``;
- ``_df_final``: the row's turns after the last operator that changed them (null: unchanged);
- ``_df_key_<position>``: per keyed operator, the row's key as raw bytes (null: the row was
  dropped before that operator), and ``_df_keyspec_<position>`` its ``dtype:ndim:width``;
- ``_df_examples``: the report examples the row gave, as JSON (null for almost every row).

``decode`` turns any slice of such rows back into a ``SegmentResult`` with positions relative to
that slice, so ``ChainRunner.replay`` finishes the chain exactly as it does for its own workers.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import pyarrow as pa

from graph.cleaning.base import Change, Decision, Drop, Flag
from graph.cleaning.report import Example
from graph.cleaning.segment import SegmentResult, decision_bucket
from graph.datasets.rows import INPUT_SCHEMA, TURNS_TYPE

EVENTS = "_df_events"
FINAL = "_df_final"
EXAMPLES = "_df_examples"
EVENT_TYPE = pa.list_(pa.struct([("position", pa.int32()), ("bucket", pa.string()), ("code", pa.string())]))


def key_column(position: int) -> str:
    """Return the name of a keyed operator's key column."""
    return f"_df_key_{position}"


def spec_column(position: int) -> str:
    """Return the name of a keyed operator's key-shape column."""
    return f"_df_keyspec_{position}"


def _spec(keys: np.ndarray) -> str:
    width = 1 if keys.ndim == 1 else int(keys.shape[1])
    return f"{keys.dtype.str}:{keys.ndim}:{width}"


def encode(table: pa.Table, result: SegmentResult, keyed: Sequence[int]) -> pa.Table:
    """Return the rows (``rows.INPUT_SCHEMA``) with ``result`` added as per-row columns.

    Args:
        table: The batch the segment ran on (any extra columns are dropped).
        result: What ``run_segment`` made of it.
        keyed: The positions of the segment's keyed operators.
    """
    rows = table.num_rows
    out = table.select(INPUT_SCHEMA.names)
    events: list[list[dict[str, object]]] = [[] for _ in range(rows)]
    for position in sorted(result.events):
        for local, decision in sorted(result.events[position].items()):
            bucket, code = decision_bucket(decision)
            events[local].append({"position": position, "bucket": bucket, "code": code})
    out = out.append_column(EVENTS, pa.array(events, EVENT_TYPE))
    out = out.append_column(FINAL, pa.array([result.final.get(local) for local in range(rows)], TURNS_TYPE))
    for position in keyed:
        seen, keys = result.keys[position]
        values: list[bytes | None] = [None] * rows
        for local, key in zip(seen.tolist(), keys, strict=True):
            values[local] = np.ascontiguousarray(key).tobytes()
        out = out.append_column(key_column(position), pa.array(values, pa.binary()))
        out = out.append_column(spec_column(position), pa.array([_spec(keys)] * rows, pa.string()))
    examples: dict[int, list[object]] = {}
    index = {sample_id: local for local, sample_id in enumerate(table.column("id").to_pylist())}
    for (position, bucket, code), found in result.examples.items():
        for example in found:
            examples.setdefault(index[example.id], []).append([position, bucket, code, example.model_dump()])
    texts = [json.dumps(examples[local], ensure_ascii=False) if local in examples else None for local in range(rows)]
    return out.append_column(EXAMPLES, pa.array(texts, pa.string()))


def _decision(bucket: str, code: str) -> Decision:
    if bucket == "dropped":
        return Drop(code)
    if bucket == "flagged":
        return Flag(code)
    return Change(turns=[], what=code)  # replay reads only ``what``; the turns travel in ``_df_final``


def _keys(values: list[bytes | None], spec: str) -> tuple[np.ndarray, np.ndarray]:
    dtype, ndim, width = spec.split(":")
    seen = np.array([local for local, value in enumerate(values) if value is not None], dtype=np.int64)
    flat = np.frombuffer(b"".join(value for value in values if value is not None), dtype=np.dtype(dtype))
    return seen, flat if ndim == "1" else flat.reshape(len(seen), int(width))


def decode(table: pa.Table, positions: Sequence[int], keyed: Sequence[int]) -> SegmentResult:
    """Return the segment result carried by these rows, with row numbers relative to ``table``.

    Args:
        table: Rows as ``encode`` returned them (any slice or concatenation of its outputs).
        positions: The positions of the segment's operators.
        keyed: The positions of the segment's keyed operators.
    """
    result = SegmentResult()
    for position in positions:
        if position not in keyed:
            result.events[position] = {}
    for local, events in enumerate(table.column(EVENTS).to_pylist()):
        for event in events or ():
            result.events[event["position"]][local] = _decision(event["bucket"], event["code"])
    for local, turns in enumerate(table.column(FINAL).to_pylist()):
        if turns is not None:
            result.final[local] = turns
    for position in keyed:
        spec = table.column(spec_column(position))[0].as_py()
        result.keys[position] = _keys(table.column(key_column(position)).to_pylist(), spec)
    for text in table.column(EXAMPLES).to_pylist():
        for position, bucket, code, example in json.loads(text) if text else ():
            result.examples.setdefault((position, bucket, code), []).append(Example.model_validate(example))
    return result
