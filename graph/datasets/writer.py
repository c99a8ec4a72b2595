"""The streaming, atomic writer of one new version (use it through ``DatasetStore.new_version``).

Rows arrive in batches (``add`` for ``Sample`` objects, ``add_batch`` for Arrow batches of
``rows.INPUT_SCHEMA``) and go straight to Parquet in a hidden temporary folder beside the
versions, so memory stays bounded whatever the size. ``commit`` writes the manifest and renames
the folder to ``vN`` in one step under the data set's lock; ``abort`` (or any exception inside the
``with`` block) removes it: a version is either complete or absent.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from agents.schemas import Sample
from graph.datasets.errors import DatasetConflictError, RowProblem
from graph.datasets.id_index import IdIndex, hex_keys, id_key
from graph.datasets.manifest import MANIFEST_FILE, REJECTS_FILE, Manifest, SourceFile
from graph.datasets.rows import HASH_SCHEME, INPUT_SCHEMA, SCHEMA, content_hashes, samples_table

ROW_GROUP_ROWS = 65_536
ROWS_PER_FILE = 500_000
_COUNTED = ("origin", "operator", "style", "source_file")
# Dictionary pages only where values repeat (trying them on unique text costs time for nothing), and
# statistics where filters use them. No compression: on 2 cores snappy cost 1.2-1.5 us a chat row, a fifth of an
# import's CPU, to halve the files (HF's own cache, Arrow IPC, is uncompressed too); every reader opens them.
DICTIONARY_COLUMNS = [
    "status", "system", "reject_reason", "turns.list.element.role", "attempts",
    *(f"lineage.{name}" for name in ("origin", "style", "topic", "workspace", "job_id", "source_file", "operator",
      "parent_version", "models", "prompt_hashes", "tokens", "params")),
]  # fmt: skip
STATISTICS_COLUMNS = ["id", "status", "content_hash", "lineage.origin", "lineage.source_row"]


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class VersionWriter:
    """Write the rows of one new version; ``commit`` publishes it, ``abort`` leaves nothing."""

    def __init__(
        self,
        folder: Path,
        manifest: Manifest,
        publish: Callable[[VersionWriter], Manifest],
        *,
        row_group_rows: int = ROW_GROUP_ROWS,
        rows_per_file: int = ROWS_PER_FILE,
    ) -> None:
        """Start writing into ``folder`` (a fresh temporary folder); ``publish`` commits it."""
        self.folder, self.manifest, self._publish = folder, manifest, publish
        self._row_group_rows, self._rows_per_file = row_group_rows, rows_per_file
        self._pending: list[pa.Table] = []
        self._pending_rows = 0
        self._file: pq.ParquetWriter | None = None
        self._file_rows = 0
        self._ids = IdIndex()
        self._hash = hashlib.sha256()
        self._counts: dict[str, Counter[str]] = {key: Counter() for key in _COUNTED}
        self._rejects: IO[str] | None = None
        self._io = ThreadPoolExecutor(max_workers=1, thread_name_prefix="parquet")  # Arrow writes without the GIL
        self._writing: Future[None] | None = None
        self.closed = False

    # ------------------------------------------------------------------ adding

    @property
    def rows(self) -> int:
        """Rows added so far."""
        return self.manifest.rows

    @property
    def rejected(self) -> int:
        """Rejected input rows recorded so far."""
        return self.manifest.rejected

    def add(self, samples: Iterable[Sample]) -> None:
        """Add samples (their ids must be unique within the version)."""
        table = samples_table(samples)
        if table.num_rows:
            self.add_batch(table)

    def add_batch(self, batch: pa.RecordBatch | pa.Table) -> None:
        """Add a batch of ``rows.INPUT_SCHEMA`` rows; a null ``id`` gets one derived from the content.

        Raises:
            DatasetConflictError: An id is already in this version.
            ValueError: The batch's columns do not match ``INPUT_SCHEMA``.
        """
        table = pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch
        table = table.select(INPUT_SCHEMA.names).cast(INPUT_SCHEMA)
        hashes = content_hashes(table["system"].combine_chunks(), table["turns"].combine_chunks())
        ids = self._unique_ids(table["id"], hashes)
        table = table.set_column(0, pa.field("id", pa.string(), nullable=False), ids)
        table = table.add_column(SCHEMA.get_field_index("content_hash"), "content_hash", hashes).cast(SCHEMA)
        self._digest(table)
        self._count(table)
        self.manifest.rows += table.num_rows
        self._pending.append(table)
        self._pending_rows += table.num_rows
        while self._pending_rows >= self._row_group_rows:
            self._flush(self._row_group_rows)

    def reject(self, problem: RowProblem) -> None:
        """Record an input row that did not become a sample (kept in ``rejects.jsonl``)."""
        if self._rejects is None:
            self._rejects = (self.folder / REJECTS_FILE).open("w", encoding="utf-8", newline="\n")
            self.manifest.rejects_file = REJECTS_FILE
        self._rejects.write(json.dumps(problem.record(), ensure_ascii=False, default=str) + "\n")
        self.manifest.rejected += 1

    def drop(self, reason: str, count: int = 1) -> None:
        """Count input left out by design (not an error), such as a chat log's trailing question."""
        self.manifest.dropped[reason] = self.manifest.dropped.get(reason, 0) + count

    def add_source(self, source: SourceFile) -> None:
        """Record an input file of this version."""
        self.manifest.sources.append(source)

    # ---------------------------------------------------------------- internals

    def _unique_ids(self, given: pa.ChunkedArray, hashes: pa.Array) -> pa.Array:
        """Return the batch's ids: given ones checked unique, missing ones derived from the content."""
        # The common import case: all new, usually all distinct.
        if given.null_count == len(given) and self._ids.add_if_new(hex_keys(hashes)):
            return hashes
        ids: list[str] = []
        batch: set[int] = set()
        for sample_id, digest in zip(given.to_pylist(), hashes.to_pylist(), strict=True):
            if sample_id is None:
                sample_id, repeat = digest, 1
                while self._taken(id_key(sample_id), batch):  # the same content again: keep it, with its own id
                    repeat += 1
                    sample_id = f"{digest}-{repeat}"
            elif self._taken(id_key(sample_id), batch):
                raise DatasetConflictError(f"sample id {sample_id!r} appears twice in the new version")
            batch.add(id_key(sample_id))
            ids.append(sample_id)
        self._ids.add(np.fromiter(batch, dtype=np.uint64, count=len(batch)))
        return pa.array(ids, pa.string())

    def _taken(self, key: int, batch: set[int]) -> bool:
        return key in batch or bool(self._ids.contains(np.array([key], dtype=np.uint64))[0])

    def _digest(self, table: pa.Table) -> None:
        status = pc.fill_null(table["status"], "")
        lines = pc.binary_join_element_wise(table["id"], status, table["content_hash"], "\x1f").combine_chunks()
        whole = pc.binary_join(pa.ListArray.from_arrays(pa.array([0, len(lines)], pa.int32()), lines), "\n")
        start, end = np.frombuffer(whole.buffers()[1], dtype=np.int32)[whole.offset : whole.offset + 2]
        self._hash.update(memoryview(whole.buffers()[2] or b"")[start:end])  # the UTF-8 bytes, not copied
        self._hash.update(b"\n")

    def _count(self, table: pa.Table) -> None:
        lineage = table["lineage"].combine_chunks()
        for key in _COUNTED:
            for item in pc.value_counts(lineage.field(key)).to_pylist():
                if item["values"] is not None and item["values"] != "":
                    self._counts[key][item["values"]] += item["counts"]

    def _flush(self, limit: int | None = None) -> None:
        table = pa.concat_tables(self._pending)
        take = table.num_rows if limit is None else limit
        head, rest = table.slice(0, take), table.slice(take)
        self._pending, self._pending_rows = ([rest] if rest.num_rows else []), rest.num_rows
        self._wait()
        self._writing = self._io.submit(self._write_rows, head)

    def _wait(self) -> None:
        """Wait for the Parquet write in flight (at most one, so memory stays bounded)."""
        if self._writing is not None:
            writing, self._writing = self._writing, None
            writing.result()

    def _write_rows(self, head: pa.Table) -> None:
        offset = 0
        while offset < head.num_rows:
            if self._file is None or self._file_rows >= self._rows_per_file:
                self._open_file()
            assert self._file is not None
            room = min(head.num_rows - offset, self._rows_per_file - self._file_rows)
            self._file.write_table(head.slice(offset, room), row_group_size=self._row_group_rows)
            self._file_rows += room
            offset += room

    def _open_file(self) -> None:
        self._close_file()
        name = f"samples-{len(self.manifest.files):05d}.parquet"
        self._file = pq.ParquetWriter(
            self.folder / name,
            SCHEMA,
            compression="none",
            use_dictionary=DICTIONARY_COLUMNS,
            write_statistics=STATISTICS_COLUMNS,
        )
        self._file_rows = 0
        self.manifest.files.append(name)

    def _close_file(self) -> None:
        if self._file is not None:
            self._file.close()
            _fsync(self.folder / self.manifest.files[-1])
            self._file = None

    # ------------------------------------------------------------------ ending

    def finish(self) -> None:
        """Flush every row and close the files (``commit`` calls it)."""
        if self._pending_rows or not self.manifest.files:
            if self._pending_rows:
                self._flush()
            else:
                self._open_file()  # an empty version still has a (row-less) Parquet file to open
        self._wait()
        self._io.shutdown()
        self._close_file()
        if self._rejects is not None:
            self._rejects.flush()
            os.fsync(self._rejects.fileno())
            self._rejects.close()
            self._rejects = None
        self.manifest.content_hash = self._hash.hexdigest()
        self.manifest.content_hash_scheme = HASH_SCHEME
        self.manifest.lineage_counts = {key: dict(counts) for key, counts in self._counts.items() if counts}

    def commit(self) -> Manifest:
        """Publish the version (numbered under the data set's lock) and return its manifest."""
        if self.closed:
            raise RuntimeError("this version writer has already ended")
        try:
            self.finish()
            manifest = self._publish(self)
        except BaseException:
            self.abort()
            raise
        self.closed = True
        return manifest

    def write_manifest(self, manifest: Manifest) -> None:
        """Write ``manifest.json`` into the folder and flush it to disk (the store calls it)."""
        path = self.folder / MANIFEST_FILE
        path.write_text(manifest.model_dump_json(indent=2) + "\n", encoding="utf-8")
        _fsync(path)

    def abort(self) -> None:
        """Remove everything written so far."""
        with contextlib.suppress(Exception):
            self._wait()
        self._io.shutdown()
        if self._file is not None:
            with contextlib.suppress(Exception):  # the folder is removed below anyway
                self._file.close()
            self._file = None
        if self._rejects is not None:
            self._rejects.close()
            self._rejects = None
        shutil.rmtree(self.folder, ignore_errors=True)
        with contextlib.suppress(OSError):  # the data set's folder, if this was its first version
            self.folder.parent.rmdir()
        self.closed = True

    def __enter__(self) -> VersionWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: Any) -> None:
        if self.closed:
            return
        if kind is None:
            self.commit()
        else:
            self.abort()
