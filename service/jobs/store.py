"""Durable job storage: SQLite (stdlib ``sqlite3``, WAL) in ``data_dir/dialogforge.db``.

Why stdlib sqlite3 rather than aiosqlite: aiosqlite is a thread plus a queue around this same
module; :meth:`JobStore.run` does the same with the store's own single worker thread (so store
calls never queue behind embedding work in the default executor), and a synchronous store is
easy to use from tests, the CLI and a Slack bot alike. One connection is
shared under a lock; every write is its own transaction, committed before the call returns
(``synchronous=FULL``), so a sample acknowledged here survives a SIGKILL or a power cut.

Tables: ``jobs`` (request, style-pack snapshot, status, progress, summary), ``samples`` (one row
per finished sample, ``id`` primary key, so a duplicated id cannot be stored twice) and
``styles`` (custom style packs registered over the API).
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from agents.schemas import Sample, utc_now
from agents.styles import StylePack
from graph.progress import JobProgress, JobSummary
from service.jobs.models import JobRecord, JobRequest, JobStatus

DB_FILE = "dialogforge.db"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    request TEXT NOT NULL,
    pack TEXT NOT NULL,
    status TEXT NOT NULL,
    progress TEXT NOT NULL,
    summary TEXT,
    error TEXT NOT NULL DEFAULT '',
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    created TEXT NOT NULL,
    updated TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_created ON jobs (created);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs (status);
CREATE TABLE IF NOT EXISTS samples (
    id TEXT PRIMARY KEY,
    job_id TEXT NOT NULL REFERENCES jobs (id),
    status TEXT NOT NULL,
    data TEXT NOT NULL,
    created TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS samples_job ON samples (job_id, status);
CREATE TABLE IF NOT EXISTS styles (
    name TEXT PRIMARY KEY,
    pack TEXT NOT NULL,
    created TEXT NOT NULL
);
"""

T = TypeVar("T")
_JOB_COLUMNS = "id, request, status, progress, summary, error, cancel_requested, created, updated"


class JobStore:
    """Jobs, their finished samples and custom style packs in one SQLite file."""

    def __init__(self, data_dir: Path) -> None:
        """Open (and create if needed) ``data_dir/dialogforge.db`` in WAL mode."""
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / DB_FILE
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA foreign_keys=ON")
        self._db.executescript(_SCHEMA)
        self._io = ThreadPoolExecutor(max_workers=1, thread_name_prefix="jobstore")

    async def run(self, function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a store method in the store's own worker thread and await its result."""
        return await asyncio.get_running_loop().run_in_executor(self._io, partial(function, *args, **kwargs))

    def close(self) -> None:
        """Finish pending calls and close the connection."""
        self._io.shutdown(wait=True)
        with self._lock:
            self._db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    # ----------------------------------------------------------------- jobs

    def create_job(self, job_id: str, request: JobRequest, pack: StylePack) -> JobRecord:
        """Insert a new queued job with a snapshot of its style pack."""
        now = utc_now().isoformat()
        progress = JobProgress(job_id=job_id, target=request.n)
        with self._transaction() as db:
            db.execute(
                "INSERT INTO jobs (id, request, pack, status, progress, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    job_id,
                    request.model_dump_json(),
                    pack.model_dump_json(),
                    "queued",
                    progress.model_dump_json(),
                    now,
                    now,
                ),
            )
        found = self.get_job(job_id)
        assert found is not None
        return found

    def get_job(self, job_id: str) -> JobRecord | None:
        """Return one job, or None."""
        rows = self._query(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE id = ?", (job_id,))
        return _record(rows[0]) if rows else None

    def job_pack(self, job_id: str) -> StylePack | None:
        """Return the style pack snapshot the job was started with."""
        rows = self._query("SELECT pack FROM jobs WHERE id = ?", (job_id,))
        return StylePack.stored(rows[0][0]) if rows else None

    def list_jobs(self, offset: int, limit: int) -> tuple[list[JobRecord], int]:
        """Return one page of jobs, newest first, and the total count."""
        rows = self._query(
            f"SELECT {_JOB_COLUMNS} FROM jobs ORDER BY created DESC, id DESC LIMIT ? OFFSET ?", (limit, offset)
        )
        total = self._query("SELECT COUNT(*) FROM jobs")[0][0]
        return [_record(row) for row in rows], int(total)

    def jobs_with_status(self, statuses: tuple[JobStatus, ...]) -> list[JobRecord]:
        """Return every job in one of these statuses, oldest first."""
        marks = ", ".join("?" for _ in statuses)
        rows = self._query(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE status IN ({marks}) ORDER BY created", statuses)
        return [_record(row) for row in rows]

    def update_job(
        self,
        job_id: str,
        *,
        status: JobStatus | None = None,
        progress: JobProgress | None = None,
        summary: JobSummary | None = None,
        error: str | None = None,
        cancel_requested: bool | None = None,
    ) -> None:
        """Change the given fields of a job (others are kept)."""
        changes: dict[str, Any] = {"updated": utc_now().isoformat()}
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
        assignments = ", ".join(f"{column} = ?" for column in changes)
        with self._transaction() as db:
            db.execute(f"UPDATE jobs SET {assignments} WHERE id = ?", (*changes.values(), job_id))

    # -------------------------------------------------------------- samples

    def add_sample(self, job_id: str, sample: Sample, progress: JobProgress | None = None) -> bool:
        """Store a finished sample (and the job's progress) in one transaction; False if the id exists."""
        with self._transaction() as db:
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


def _record(row: tuple[Any, ...]) -> JobRecord:
    job_id, request, status, progress, summary, error, cancel, created, updated = row
    return JobRecord(
        id=job_id,
        request=JobRequest.model_validate_json(request),
        status=status,
        progress=JobProgress.model_validate_json(progress),
        summary=JobSummary.model_validate_json(summary) if summary else None,
        error=error,
        cancel_requested=bool(cancel),
        created_at=created,
        updated_at=updated,
    )
