"""The version store: ``DatasetStore(data_dir)`` keeps every data set's immutable versions on disk.

Layout under ``data_dir/datasets/``::

    <name>/v<N>/manifest.json          what the version is (graph.datasets.manifest.Manifest)
    <name>/v<N>/samples-00000.parquet  its rows (graph.datasets.rows.SCHEMA), 500k rows a file
    <name>/v<N>/rejects.jsonl          input rows that did not become samples, with the reason
    .locks/<name>.lock                 held while a version is numbered and published

The catalog *is* these folders: a version exists when its folder ``v<N>`` (with its manifest)
does, and the folder appears by one ``rename`` of a complete temporary folder. It shares no
SQLite database with the job store on purpose: the version's data already lives in files, so a
catalog row would be a second copy that a crash could leave disagreeing with them; a folder that
holds its own manifest can be copied, backed up or opened by pandas, DuckDB, HF ``datasets`` or
Ray Data without dialogforge; and readers (the CLI while a server runs, Ray workers) need no
database connection, only the files.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from agents.schemas import Sample
from graph.datasets.errors import DatasetConflictError, DatasetNotFoundError, VersionNotFoundError
from graph.datasets.manifest import MANIFEST_FILE, Manifest
from graph.datasets.refs import Ref, check_name, check_tag, parse_ref
from graph.datasets.rows import batch_samples
from graph.datasets.writer import VersionWriter

STORE_FOLDER = "datasets"
_VERSION_DIR = re.compile(r"^v([1-9][0-9]*)$")
_TEMP_PREFIX = ".tmp-"
RefLike = str | Ref | Manifest


class DatasetStore:
    """Every data set and version under ``data_dir/datasets``."""

    def __init__(self, data_dir: Path) -> None:
        """Use (and create when first written) ``data_dir/datasets``."""
        self.root = Path(data_dir) / STORE_FOLDER

    # ---------------------------------------------------------------- catalog

    def names(self) -> list[str]:
        """Return the names of the data sets that have at least one version, sorted."""
        if not self.root.is_dir():
            return []
        return sorted(entry.name for entry in self.root.iterdir() if self._numbers(entry))

    def versions(self, name: str) -> list[Manifest]:
        """Return every version of a data set, oldest first.

        Raises:
            DatasetNotFoundError: No data set has this name (the message lists the ones that exist).
        """
        folder = self.root / check_name(name)
        numbers = self._numbers(folder)
        if not numbers:
            known = ", ".join(self.names()) or "none yet; import one with 'dialogforge datasets import'"
            raise DatasetNotFoundError(f"no data set named {name!r}; data sets: {known}")
        return [self._manifest(folder / f"v{number}") for number in numbers]

    def resolve(self, ref: RefLike) -> Manifest:
        """Return the manifest of ``name``, ``name@3``, ``name@v1.1`` or ``name@latest``.

        Raises:
            InvalidNameError: The reference is malformed.
            DatasetNotFoundError: No data set has this name.
            VersionNotFoundError: No such version; the message lists the versions that exist.
        """
        if isinstance(ref, Manifest):
            return ref
        parsed = parse_ref(ref) if isinstance(ref, str) else ref
        versions = self.versions(parsed.name)
        if parsed.is_latest:
            return versions[-1]
        for manifest in versions:
            if manifest.version == parsed.number or (parsed.tag is not None and manifest.tag == parsed.tag):
                return manifest
        raise VersionNotFoundError(f"{parsed.name} has no version {parsed}; versions: {describe_versions(versions)}")

    def folder(self, ref: RefLike) -> Path:
        """Return the folder of a version."""
        manifest = self.resolve(ref)
        return self.root / manifest.name / f"v{manifest.version}"

    def files(self, ref: RefLike) -> list[Path]:
        """Return the Parquet files of a version's rows, in order."""
        manifest = self.resolve(ref)
        folder = self.root / manifest.name / f"v{manifest.version}"
        return [folder / name for name in manifest.files]

    def find_key(self, name: str, key: str) -> Manifest | None:
        """Return the version written with this idempotency key, if any (e.g. a resumed job's)."""
        if not self._numbers(self.root / check_name(name)):
            return None
        return next((m for m in self.versions(name) if m.key == key), None)

    # ----------------------------------------------------------------- reading

    def iter_batches(
        self, ref: RefLike, batch_size: int = 10_000, columns: Sequence[str] | None = None
    ) -> Iterator[pa.RecordBatch]:
        """Yield a version's rows as Arrow record batches of at most ``batch_size`` rows.

        This is the cheap path for bulk work (cleaning operators, exports, Ray ``map_batches``):
        no Python object per row. ``columns`` reads only those columns.
        """
        for path in self.files(ref):
            parquet = pq.ParquetFile(path)
            yield from parquet.iter_batches(batch_size=batch_size, columns=list(columns) if columns else None)

    def iter_samples(self, ref: RefLike, batch_size: int = 1_000) -> Iterator[list[Sample]]:
        """Yield a version's rows as lists of ``Sample`` objects, in order."""
        for batch in self.iter_batches(ref, batch_size):
            yield batch_samples(batch)

    # ----------------------------------------------------------------- writing

    def new_version(
        self,
        name: str,
        *,
        operation: str,
        params: dict[str, Any] | None = None,
        parents: Sequence[RefLike] = (),
        tag: str | None = None,
        partial: bool = False,
        key: str | None = None,
        **limits: int,
    ) -> VersionWriter:
        """Start writing a new version of ``name`` (created if new); use it as a context manager.

        ``with store.new_version("bank-logs", operation="clean", parents=["bank-logs@1"]) as w:
        w.add(samples)`` commits at the end of the block (``w.manifest`` is then the published
        manifest) and leaves nothing behind when the block raises. ``parents`` are resolved now,
        so an unknown parent fails before any row is written.

        Raises:
            InvalidNameError: The name or tag is malformed.
            DatasetConflictError: The tag or key is already used by a version of this data set.
        """
        check_name(name)
        if tag is not None:
            check_tag(tag)
        parent_refs = [self.resolve(parent).ref for parent in parents]
        folder = self.root / name
        if self._numbers(folder):
            self._check_unique(self.versions(name), tag, key)
        folder.mkdir(parents=True, exist_ok=True)
        self._sweep(folder)
        temp = folder / f"{_TEMP_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:8]}"
        temp.mkdir()
        draft = Manifest(
            name=name, version=1, tag=tag, parents=parent_refs, operation=operation, params=params or {},
            partial=partial, key=key,
        )  # fmt: skip
        return VersionWriter(temp, draft, self._publish, **limits)

    def _publish(self, writer: VersionWriter) -> Manifest:
        folder = writer.folder.parent
        with self._lock(folder.name):
            numbers = self._numbers(folder)
            if numbers:
                self._check_unique(self.versions(folder.name), writer.manifest.tag, writer.manifest.key)
            manifest = writer.manifest.model_copy(update={"version": (numbers[-1] if numbers else 0) + 1})
            writer.write_manifest(manifest)
            os.rename(writer.folder, folder / f"v{manifest.version}")
            fd = os.open(folder, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        writer.manifest = manifest
        return manifest

    # --------------------------------------------------------------- internals

    @staticmethod
    def _check_unique(versions: list[Manifest], tag: str | None, key: str | None) -> None:
        for manifest in versions:
            if tag is not None and manifest.tag == tag:
                raise DatasetConflictError(f"{manifest.name} already has a version tagged {tag!r} ({manifest.ref})")
            if key is not None and manifest.key == key:
                raise DatasetConflictError(f"{manifest.ref} was already written by {key!r}")

    @staticmethod
    def _numbers(folder: Path) -> list[int]:
        if not folder.is_dir() or folder.name.startswith("."):
            return []
        found = []
        for entry in folder.iterdir():
            match = _VERSION_DIR.match(entry.name)
            if match and (entry / MANIFEST_FILE).is_file():
                found.append(int(match.group(1)))
        return sorted(found)

    @staticmethod
    def _manifest(folder: Path) -> Manifest:
        return Manifest.model_validate_json((folder / MANIFEST_FILE).read_text(encoding="utf-8"))

    @contextlib.contextmanager
    def _lock(self, name: str) -> Iterator[None]:
        locks = self.root / ".locks"
        locks.mkdir(parents=True, exist_ok=True)
        with (locks / f"{name}.lock").open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    @staticmethod
    def _sweep(folder: Path) -> None:
        """Remove temporary folders left by writers whose process has died."""
        for entry in folder.iterdir():
            if not entry.name.startswith(_TEMP_PREFIX):
                continue
            pid = entry.name[len(_TEMP_PREFIX) :].split("-", 1)[0]
            if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
                shutil.rmtree(entry, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def describe_versions(versions: list[Manifest]) -> str:
    """Return ``1, 2 (v1.1), 3`` for an error message."""
    return ", ".join(f"{m.version} ({m.tag})" if m.tag else str(m.version) for m in versions)
