"""The columns of a stored version, and conversions between Arrow batches and ``Sample`` objects.

A version's rows are ``agents.schemas.Sample`` objects, stored so that a user's own tools see a
natural shape (pandas, HF ``datasets``, DuckDB, Ray Data, no dialogforge needed):

- ``id`` (string, unique in a version), ``status`` (``accepted``/``rejected``), ``system``,
- ``turns``: a list of ``{role, content}`` structs, ``reject_reason``,
- ``content_hash``: 16 hex digits of XXH3-64 over the system prompt and the turns (diffs and
  duplicate checks read it instead of the text; the writer always computes it; versions written
  before 2026-12 used BLAKE2b-64, which their manifest's ``content_hash_scheme`` says),
- ``lineage``: a struct of the ``Lineage`` fields; its free-form dicts (``models``,
  ``prompt_hashes``, ``tokens``, ``params``) are JSON text, so every row has the same schema,
- ``attempts``: every draft, rewrite, check failure and verdict, as JSON text.
"""

from __future__ import annotations

import binascii
import json
from collections.abc import Iterable
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import xxhash

from agents.schemas import Sample

TURN_TYPE = pa.struct([("role", pa.string()), ("content", pa.string())])
TURNS_TYPE = pa.list_(TURN_TYPE)
_TIME = pa.timestamp("us", tz="UTC")
LINEAGE_JSON_FIELDS = ("models", "prompt_hashes", "tokens", "params")
LINEAGE_TYPE = pa.struct(
    [
        ("origin", pa.string()),
        ("style", pa.string()),
        ("topic", pa.string()),
        ("workspace", pa.string()),
        ("job_id", pa.string()),
        ("source_file", pa.string()),
        ("source_row", pa.int64()),
        ("source_row_end", pa.int64()),
        ("operator", pa.string()),
        ("parent_id", pa.string()),
        ("parent_version", pa.string()),
        ("models", pa.string()),
        ("prompt_hashes", pa.string()),
        ("tokens", pa.string()),
        ("params", pa.string()),
        ("started_at", _TIME),
        ("finished_at", _TIME),
    ]
)
SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        ("status", pa.string()),
        ("system", pa.string()),
        ("turns", TURNS_TYPE),
        ("reject_reason", pa.string()),
        ("content_hash", pa.string()),
        ("lineage", LINEAGE_TYPE),
        ("attempts", pa.string()),
    ]
)
INPUT_SCHEMA = pa.schema([field for field in SCHEMA if field.name != "content_hash"]).set(
    0, pa.field("id", pa.string())
)
"""What a writer accepts: every column but ``content_hash``; a null ``id`` is assigned from the content."""

_ROLE_CODES = {"user": 1, "assistant": 2}
_HEADER = np.dtype([("role", "u1"), ("length", "<u4")])
HASH_SCHEME = "xxh3-64"
"""The content hash of the rows a writer stores now (``Manifest.content_hash_scheme``)."""


def content_hash(system: str, turns: Iterable[tuple[str, str]]) -> str:
    """Return the content hash of one sample: its system prompt and ``(role, content)`` turns.

    XXH3-64 (``HASH_SCHEME``) over the system prompt's UTF-8, then one (role code, content
    length) header per turn, then the turns' UTF-8 contents; 16 hex digits. A non-cryptographic
    hash is enough: it names content and finds exact repeats, it guards nothing against an attacker.
    """
    pairs = [(role, content.encode("utf-8", "surrogatepass")) for role, content in turns]
    header = np.array([(_ROLE_CODES.get(role, 0), len(body)) for role, body in pairs], dtype=_HEADER)
    digest = xxhash.xxh3_64(system.encode("utf-8", "surrogatepass"))
    digest.update(header.tobytes())
    digest.update(b"".join(body for _, body in pairs))
    return digest.hexdigest()


def _offsets(array: pa.Array) -> np.ndarray:
    """Return the value offsets of a string, binary or list array (its slice only), as int64."""
    raw = np.frombuffer(array.buffers()[1], dtype=np.int32)
    return raw[array.offset : array.offset + len(array) + 1].astype(np.int64)


def _binary(count: int, offsets: np.ndarray, data: pa.Buffer | None) -> pa.Array:
    """Return a large binary array over ``data`` cut at ``offsets`` (no copy of the data)."""
    return pa.Array.from_buffers(pa.large_binary(), count, [None, pa.py_buffer(offsets.astype(np.int64)), data])


def content_hashes(system: pa.Array, turns: pa.Array) -> pa.Array:
    """Return the content hash of every row of a batch, exactly as ``content_hash`` computes it.

    Each row's hashed bytes (system prompt, turn headers, turn contents) are laid end to end by
    one Arrow join (a row's contents are already contiguous in Arrow's buffer), so the per-row
    work is one XXH3 call, driven by ``map`` without Python code per row.
    """
    count = len(turns)
    system = pc.fill_null(system, "")
    contents = turns.values.field("content")
    roles = turns.values.field("role")
    codes = pc.if_else(pc.equal(roles, "user"), 1, pc.if_else(pc.equal(roles, "assistant"), 2, 0))
    content_offsets, turn_offsets = _offsets(contents), _offsets(turns)
    header = np.empty(len(contents), dtype=_HEADER)
    header["role"] = np.asarray(pc.fill_null(codes, 0), dtype=np.uint8)
    header["length"] = np.diff(content_offsets)
    joined = pc.binary_join_element_wise(
        system.cast(pa.large_binary()),
        _binary(count, turn_offsets * _HEADER.itemsize, pa.py_buffer(header.tobytes())),
        _binary(count, content_offsets[turn_offsets], contents.buffers()[2]),
        pa.scalar(b"", pa.large_binary()),
    )
    bounds = np.frombuffer(joined.buffers()[1], dtype=np.int64)[joined.offset : joined.offset + count + 1].tolist()
    data = memoryview(joined.buffers()[2] or b"")
    pieces = map(data.__getitem__, map(slice, bounds[:-1], bounds[1:]))
    digests = b"".join(map(xxhash.xxh3_64_digest, pieces))
    hexed = pa.py_buffer(binascii.hexlify(digests))
    steps = pa.py_buffer(np.arange(0, len(hexed) + 1, 16, dtype=np.int32).tobytes())
    return pa.StringArray.from_buffers(count, steps, hexed)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def sample_row(sample: Sample) -> dict[str, Any]:
    """Return one sample as a row of ``INPUT_SCHEMA`` (plain Python values)."""
    native, plain = sample.model_dump(mode="python"), sample.model_dump(mode="json")
    lineage = {field.name: native["lineage"].get(field.name) for field in LINEAGE_TYPE}
    for key in LINEAGE_JSON_FIELDS:
        lineage[key] = _json(plain["lineage"][key])
    return {
        "id": sample.id,
        "status": sample.status,
        "system": sample.system,
        "turns": native["turns"],
        "reject_reason": sample.reject_reason,
        "lineage": lineage,
        "attempts": _json(plain["attempts"]),
    }


def samples_table(samples: Iterable[Sample]) -> pa.Table:
    """Return samples as a table of ``INPUT_SCHEMA``."""
    return pa.Table.from_pylist([sample_row(sample) for sample in samples], schema=INPUT_SCHEMA)


def row_sample(row: dict[str, Any]) -> Sample:
    """Return the ``Sample`` of one stored row (as ``to_pylist`` gives it)."""
    lineage = dict(row["lineage"] or {})
    for key in LINEAGE_JSON_FIELDS:
        text = lineage.get(key)
        lineage[key] = json.loads(text) if text else {}
    if lineage.get("started_at") is None:
        lineage.pop("started_at", None)
    return Sample.model_validate(
        {
            "id": row["id"],
            "status": row["status"],
            "system": row["system"] or "",
            "turns": row["turns"] or [],
            "reject_reason": row.get("reject_reason"),
            "attempts": json.loads(row["attempts"]) if row.get("attempts") else [],
            "lineage": lineage,
        }
    )


def batch_samples(batch: pa.RecordBatch | pa.Table) -> list[Sample]:
    """Return the samples of a stored batch, in order."""
    return [row_sample(row) for row in batch.to_pylist()]
