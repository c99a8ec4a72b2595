"""The manifest of a version: what it is, where it came from, what it holds (``manifest.json``).

A version folder is self-describing: ``manifest.json``, the rows in ``samples-NNNNN.parquet``
and, when rows were skipped, ``rejects.jsonl``. Copy the folder anywhere and it stays whole.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from agents.schemas import utc_now
from graph.datasets.refs import version_ref

MANIFEST_FILE = "manifest.json"
REJECTS_FILE = "rejects.jsonl"
MANIFEST_FORMAT = "dialogforge.version/1"
LEGACY_HASH_SCHEME = "blake2b-64"
"""The content hash of versions written before their manifest recorded it (``content_hash_scheme``)."""


class SourceFile(BaseModel):
    """One input file of an import, identified by size and SHA-256."""

    path: str
    kind: str = Field(description="jsonl, json, csv, tsv, parquet, hf-disk, hf-hub")
    format: str = Field(description="sharegpt, openai, alpaca, pairs, chat-log or raw")
    bytes: int = 0
    sha256: str = ""
    encoding: str | None = None
    rows_read: int = 0


class Manifest(BaseModel):
    """One immutable version of a data set."""

    manifest_format: str = MANIFEST_FORMAT
    name: str
    version: int = Field(ge=1)
    tag: str | None = None
    parents: list[str] = Field(default_factory=list, description="References (name@N) this version was made from.")
    operation: str = Field(description="import, generate, clean, augment, edit, ...")
    params: dict[str, Any] = Field(default_factory=dict)
    sources: list[SourceFile] = Field(default_factory=list)
    created_at: datetime = Field(default_factory=utc_now)
    rows: int = 0
    rejected: int = Field(default=0, description="Input rows that did not become samples (see rejects.jsonl).")
    dropped: dict[str, int] = Field(
        default_factory=dict, description="Input left out by design (e.g. a chat log's leading reply), by reason."
    )
    lineage_counts: dict[str, dict[str, int]] = Field(
        default_factory=dict, description="Rows by lineage origin, operator, style and source file."
    )
    content_hash: str = Field(default="", description="SHA-256 over every row's id, status and content hash, in order.")
    content_hash_scheme: str = Field(
        default=LEGACY_HASH_SCHEME,
        description="The hash of the rows' content_hash column (the default: versions written before it was recorded).",
    )
    files: list[str] = Field(default_factory=list, description="The Parquet files of the rows, in order.")
    rejects_file: str | None = None
    partial: bool = Field(default=False, description="True when the operation stopped early (e.g. a cancelled job).")
    key: str | None = Field(default=None, description="The writer's idempotency key (e.g. a job id).")

    @property
    def ref(self) -> str:
        """The canonical reference of this version, ``name@N``."""
        return version_ref(self.name, self.version)
