"""Durable job storage: SQLite (stdlib ``sqlite3``, WAL) in ``data_dir/dialogforge.db``.

Why stdlib sqlite3 rather than aiosqlite: aiosqlite is a thread plus a queue around this same
module; :meth:`JobStore.run` does the same with the store's own single worker thread (so store
calls never queue behind embedding work in the default executor), and a synchronous store is
easy to use from tests, the CLI and a Slack bot alike. One connection is
shared under a lock; every write is its own transaction, committed before the call returns
(``synchronous=FULL``), so a sample acknowledged here survives a SIGKILL or a power cut.

Tables: ``jobs`` (request, style-pack snapshot, status, progress, summary, lease), ``samples``
(one row per finished sample, ``id`` primary key, so a duplicated id cannot be stored twice),
``styles`` (custom style packs registered over the API), ``job_keys`` (client keys of job
creations, ``service.jobs.client_keys``) and ``probe`` (one row rewritten to see whether a full
disk has recovered).

Leases: a job is run only by the process that holds its lease (``owner``, ``lease_until``).
:meth:`JobStore.claim_job` takes it in one ``BEGIN IMMEDIATE`` transaction (SQLite serialises
those across processes), so two processes can never both claim one job; every write of a running
job names its owner and is refused (:class:`LeaseLostError`) once another process holds the lease.

A write the disk is too full for raises :class:`StorageFullError` (HTTP 507) instead of SQLite's
error; nothing written before it is lost.
"""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from agents.schemas import Sample, utc_now
from agents.styles import StylePack
from graph.faults import is_storage_full
from graph.progress import JobProgress, JobSummary
from service.jobs import client_keys
from service.jobs.client_keys import KEY_TTL_S, ClientKey
from service.jobs.errors import LeaseLostError, StorageFullError
from service.jobs.kinds import kind_of
from service.jobs.models import RESUMABLE_STATUSES, JobOrigin, JobRecord, JobRequest, JobStatus
from service.jobs.owner import owner_is_gone
from service.jobs.store_schema import JOB_COLUMNS, create_tables, job_record

DB_FILE = "dialogforge.db"
PROBE_BYTES = 64 * 1024
RESERVE_BYTES = 8 * 1024 * 1024

T = TypeVar("T")


class JobStore:
    """Jobs, their finished samples and custom style packs in one SQLite file."""

    def __init__(self, data_dir: Path, reserve_bytes: int = RESERVE_BYTES, key_ttl_s: float = KEY_TTL_S) -> None:
        """Open (and create if needed) ``data_dir/dialogforge.db`` in WAL mode.

        ``reserve_bytes``: writes other than a job's end are refused (StorageFullError) while the
        file system has less free space than this, so a job stopped by a full disk can always
        store how it ended, and a full disk is found before SQLite or Chroma fail mid-write.
        ``key_ttl_s``: how long a client key finds its job.
        """
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / DB_FILE
        self.reserve_bytes, self.key_ttl_s = reserve_bytes, key_ttl_s
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA foreign_keys=ON")
        create_tables(self._db)
        self._io = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jobstore")

    async def run(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a store method in the store's own worker thread and await its result."""
        return await asyncio.get_running_loop().run_in_executor(self._io, partial(function, *args, **kwargs))

    def close(self) -> None:
        """Finish pending calls and close the connection."""
        self._io.shutdown(wait=True)
        with self._lock:
            self._db.close()

    def free_bytes(self) -> int:
        """Return the free space of the data directory's file system."""
        return shutil.disk_usage(self.path.parent).free

    def _full(self, reason: str) -> StorageFullError:
        return StorageFullError(
            f"the disk of the data directory {self.path.parent} is full ({reason}); free some space and retry"
        )

    @contextmanager
    def _transaction(self, *, essential: bool = False) -> Iterator[sqlite3.Connection]:
        """One write transaction; a disk too full for it raises StorageFullError (nothing half-written).

        ``essential`` writes (a job's end) may use the reserve; others are refused below it.
        """
        if not essential and (free := self.free_bytes()) < self.reserve_bytes:
            raise self._full(f"{free // 1024} KiB free, {self.reserve_bytes // 1024} KiB kept in reserve")
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
                self._db.execute("COMMIT")
            except sqlite3.Error as exc:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                if is_storage_full(exc):
                    raise self._full(str(exc)) from exc
                raise

    def _check_owner(self, db: sqlite3.Connection, job_id: str, owner: str | None) -> None:
        """Refuse a write of a running job by a process that no longer holds its lease."""
        if owner is None:
            return
        row = db.execute("SELECT owner FROM jobs WHERE id = ?", (job_id,)).fetchone()
        if row is not None and row[0] != owner:
            raise LeaseLostError(f"job {job_id} is now run by another process ({row[0] or 'none'}); stopped here")

    def probe_write(self) -> None:
        """Write (and keep) one 64 KiB row: raises StorageFullError while the disk is full."""
        with self._transaction() as db:
            db.execute("INSERT OR REPLACE INTO probe (id, data) VALUES (1, randomblob(?))", (PROBE_BYTES,))

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    # ----------------------------------------------------------------- jobs

    def create_job(
        self,
        job_id: str,
        request: JobRequest,
        pack: StylePack | None,
        origin: JobOrigin = "service",
        *,
        owner: str | None = None,
        lease_s: float = 0.0,
        key: ClientKey | None = None,
    ) -> JobRecord:
        """Insert a new queued job with a snapshot of its style pack (if its kind has one), leased to ``owner``.

        With a client ``key`` that already names a job, nothing is inserted and that job is returned
        (its id differs from ``job_id``); a key used for another request raises IdempotencyConflictError.
        """
        now = utc_now().isoformat()
        progress = JobProgress(job_id=job_id, target=kind_of(request).target(request))
        clock = time.time()
        row = (
            job_id,
            request.model_dump_json(),
            pack.model_dump_json() if pack else "",
            "queued",
            progress.model_dump_json(),
            origin,
            owner,
            clock + lease_s if owner else None,
            now,
            now,
        )
        with self._transaction() as db:
            existing = client_keys.find(db, key, clock, self.key_ttl_s) if key else None
            if existing is None:
                db.execute(
                    "INSERT INTO jobs (id, request, pack, status, progress, origin, owner, lease_until, created,"
                    " updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    row,
                )
                if key:
                    client_keys.remember(db, key, job_id, clock, self.key_ttl_s)
        found = self.get_job(existing or job_id)
        assert found is not None
        return found

    def job_for_key(self, key: ClientKey) -> JobRecord | None:
        """Return the job a live client key names, or None (IdempotencyConflictError: another request)."""
        with self._lock:
            job_id = client_keys.find(self._db, key, time.time(), self.key_ttl_s)
        return self.get_job(job_id) if job_id else None

    def get_job(self, job_id: str) -> JobRecord | None:
        """Return one job, or None."""
        rows = self._query(f"SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?", (job_id,))
        return job_record(rows[0]) if rows else None

    def job_pack(self, job_id: str) -> StylePack | None:
        """Return the style pack snapshot the job was started with."""
        rows = self._query("SELECT pack FROM jobs WHERE id = ?", (job_id,))
        return StylePack.stored(rows[0][0]) if rows and rows[0][0] else None

    def list_jobs(self, offset: int, limit: int) -> tuple[list[JobRecord], int]:
        """Return one page of jobs, newest first, and the total count."""
        rows = self._query(
            f"SELECT {JOB_COLUMNS} FROM jobs ORDER BY created DESC, id DESC LIMIT ? OFFSET ?", (limit, offset)
        )
        total = self._query("SELECT COUNT(*) FROM jobs")[0][0]
        return [job_record(row) for row in rows], int(total)

    def jobs_with_status(self, statuses: tuple[JobStatus, ...], origin: JobOrigin | None = None) -> list[JobRecord]:
        """Return every job in one of these statuses (started by ``origin``, if given), oldest first."""
        marks = ", ".join("?" for _ in statuses)
        where = f"status IN ({marks})" + (" AND origin = ?" if origin else "")
        params = (*statuses, origin) if origin else statuses
        rows = self._query(f"SELECT {JOB_COLUMNS} FROM jobs WHERE {where} ORDER BY created", params)
        return [job_record(row) for row in rows]

    def latest_like(
        self, request: JobRequest, pack: StylePack | None, statuses: tuple[JobStatus, ...]
    ) -> JobRecord | None:
        """Return the newest job with exactly this request and style pack, in one of these statuses."""
        digest = pack.digest() if pack else None
        for record in reversed(self.jobs_with_status(statuses)):
            stored = self.job_pack(record.id)
            if record.request == request and (stored.digest() if stored else None) == digest:
                return record
        return None

    def update_job(
        self,
        job_id: str,
        *,
        status: JobStatus | None = None,
        progress: JobProgress | None = None,
        summary: JobSummary | None = None,
        error: str | None = None,
        cancel_requested: bool | None = None,
        version: str | None = None,
        owner: str | None = None,
        release: bool = False,
    ) -> None:
        """Change the given fields of a job (others are kept).

        ``owner``: only while this owner holds the job's lease (else LeaseLostError);
        ``release``: give the lease up in the same transaction (the job has ended here).
        """
        changes: dict[str, Any] = {"updated": utc_now().isoformat()}
        if release:
            changes["owner"] = None
            changes["lease_until"] = None
        if status is not None:
            changes["status"] = status
        if progress is not None:
            changes["progress"] = progress.model_dump_json()
        if summary is not None:
            changes["summary"] = summary.model_dump_json()
        if error is not None:
            changes["error"] = error
        if cancel_requested is not None:
            changes["cancel_requested"] = int(cancel_requested)
        if version is not None:
            changes["version"] = version
        assignments = ", ".join(f"{column} = ?" for column in changes)
        with self._transaction(essential=release or status is not None) as db:
            self._check_owner(db, job_id, owner)
            db.execute(f"UPDATE jobs SET {assignments} WHERE id = ?", (*changes.values(), job_id))

    # ---------------------------------------------------------------- leases

    def claim_job(self, job_id: str, owner: str, lease_s: float) -> str | None:
        """Take a resumable job's lease for ``owner``; return None, or who holds it instead.

        The lease is free when nobody holds it, it has expired, ``owner`` holds it already, or
        its holder was a process on this host that has exited.
        """
        now = time.time()
        with self._transaction() as db:
            row = db.execute("SELECT status, owner, lease_until FROM jobs WHERE id = ?", (job_id,)).fetchone()
            if row is None:
                return "nobody: there is no such job"
            status, holder, until = row
            if status not in RESUMABLE_STATUSES:
                return f"nobody: the job has ended ({status})"
            if holder and holder != owner and (until or 0.0) > now and not owner_is_gone(holder):
                return str(holder)
            db.execute("UPDATE jobs SET owner = ?, lease_until = ? WHERE id = ?", (owner, now + lease_s, job_id))
        return None

    def renew_leases(self, owner: str, job_ids: list[str], lease_s: float) -> list[str]:
        """Extend ``owner``'s leases on these jobs; return the ids whose lease another process holds now."""
        lost = []
        until = time.time() + lease_s
        with self._transaction() as db:
            for job_id in job_ids:
                cursor = db.execute(
                    "UPDATE jobs SET lease_until = ? WHERE id = ? AND owner = ?", (until, job_id, owner)
                )
                if cursor.rowcount != 1:
                    lost.append(job_id)
        return lost

    # -------------------------------------------------------------- samples

    def add_sample(
        self, job_id: str, sample: Sample, progress: JobProgress | None = None, owner: str | None = None
    ) -> bool:
        """Store a finished sample (and the job's progress) in one transaction; False if the id exists.

        With ``owner``, only while that owner holds the job's lease (else LeaseLostError).
        """
        with self._transaction() as db:
            self._check_owner(db, job_id, owner)
            cursor = db.execute(
                "INSERT OR IGNORE INTO samples (id, job_id, status, data, created) VALUES (?, ?, ?, ?, ?)",
                (sample.id, job_id, sample.status, sample.model_dump_json(), utc_now().isoformat()),
            )
            if progress is not None:
                db.execute(
                    "UPDATE jobs SET progress = ?, updated = ? WHERE id = ?",
                    (progress.model_dump_json(), utc_now().isoformat(), job_id),
                )
        return cursor.rowcount == 1

    def samples(self, job_id: str, status: str | None = "accepted") -> list[Sample]:
        """Return a job's samples in the order they finished (``status`` None = all)."""
        return [sample for page in self.iter_sample_pages(job_id, status) for sample in page]

    def iter_sample_pages(self, job_id: str, status: str | None, page_size: int = 200) -> Iterator[list[Sample]]:
        """Yield a job's samples page by page (keyset pagination on rowid)."""
        after = 0
        while True:
            page = self.sample_page(job_id, status, after, page_size)
            if not page:
                return
            after = page[-1][0]
            yield [sample for _, sample in page]
            if len(page) < page_size:
                return

    def sample_page(self, job_id: str, status: str | None, after_rowid: int, limit: int) -> list[tuple[int, Sample]]:
        """Return up to ``limit`` (rowid, sample) pairs after ``after_rowid``."""
        where = "job_id = ? AND rowid > ?" + (" AND status = ?" if status else "")
        params: tuple[Any, ...] = (job_id, after_rowid, status) if status else (job_id, after_rowid)
        rows = self._query(f"SELECT rowid, data FROM samples WHERE {where} ORDER BY rowid LIMIT ?", (*params, limit))
        return [(int(rowid), Sample.model_validate_json(data)) for rowid, data in rows]

    def count_samples(self, job_id: str, status: str = "accepted") -> int:
        """Return how many samples of a job have this status."""
        return int(self._query("SELECT COUNT(*) FROM samples WHERE job_id = ? AND status = ?", (job_id, status))[0][0])

    # --------------------------------------------------------------- styles

    def save_style(self, pack: StylePack) -> bool:
        """Store (or replace) a custom style pack; return True when it is new."""
        with self._transaction() as db:
            existed = db.execute("SELECT 1 FROM styles WHERE name = ?", (pack.name,)).fetchone() is not None
            db.execute(
                "INSERT OR REPLACE INTO styles (name, pack, created) VALUES (?, ?, ?)",
                (pack.name, pack.model_dump_json(), utc_now().isoformat()),
            )
        return not existed

    def styles(self) -> list[StylePack]:
        """Return every custom style pack."""
        return [StylePack.stored(row[0]) for row in self._query("SELECT pack FROM styles ORDER BY name")]
