"""The job store's ``batches`` table: every Batch API submission of a job, so a restart adopts it.

It lives in the job store's file (``data_dir/dialogforge.db``, stdlib ``sqlite3`` in WAL mode)
beside ``jobs`` and ``samples``, on its own connection (SQLite serialises the writers). One row per
submission: job id, stage, batch id, input file id, when, how many requests, last known status.
Implements :class:`agents.batching.BatchLedger`.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

from agents.batching import LedgerEntry
from service.jobs.store import DB_FILE

_SCHEMA = """
CREATE TABLE IF NOT EXISTS batches (
    batch_id TEXT PRIMARY KEY,
    job_id TEXT NOT NULL,
    stage TEXT NOT NULL,
    input_file_id TEXT NOT NULL,
    submitted REAL NOT NULL,
    requests INTEGER NOT NULL,
    status TEXT NOT NULL,
    updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS batches_job ON batches (job_id, status);
"""
CLOSED = ("failed", "expired", "cancelled")


class SqliteBatchLedger:
    """Record and list a job's Batch API submissions (see the module docstring)."""

    def __init__(self, data_dir: Path) -> None:
        """Open (and create if needed) the table in ``data_dir/dialogforge.db``."""
        data_dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(data_dir / DB_FILE, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # a recorded batch id survives a power cut
        self._db.executescript(_SCHEMA)

    def record(self, job_id: str, entry: LedgerEntry) -> None:
        """Record a new submission of ``job_id``."""
        row = (entry.batch_id, job_id, entry.stage, entry.input_file_id, entry.submitted, entry.requests, entry.status)
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO batches (batch_id, job_id, stage, input_file_id, submitted, requests, status,"
                " updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (*row, time.time()),
            )

    def update(self, batch_id: str, status: str) -> None:
        """Record a submission's new status."""
        with self._lock:
            self._db.execute(
                "UPDATE batches SET status = ?, updated = ? WHERE batch_id = ?", (status, time.time(), batch_id)
            )

    def open_batches(self, job_id: str) -> list[LedgerEntry]:
        """Return the submissions of ``job_id`` whose answers may still be read, oldest first."""
        marks = ",".join("?" * len(CLOSED))
        with self._lock:
            rows = self._db.execute(
                "SELECT batch_id, stage, input_file_id, submitted, requests, status FROM batches"
                f" WHERE job_id = ? AND status NOT IN ({marks}) ORDER BY submitted",
                (job_id, *CLOSED),
            ).fetchall()
        return [LedgerEntry(*row) for row in rows]

    def all_batches(self, job_id: str) -> list[LedgerEntry]:
        """Return every submission of ``job_id``, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT batch_id, stage, input_file_id, submitted, requests, status FROM batches"
                " WHERE job_id = ? ORDER BY submitted",
                (job_id,),
            ).fetchall()
        return [LedgerEntry(*row) for row in rows]

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._db.close()
