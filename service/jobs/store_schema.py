"""The job store's tables, how older databases are brought up to date, and how a row becomes a JobRecord."""

from __future__ import annotations

import sqlite3
from typing import Any

from graph.progress import JobProgress, JobSummary
from service.jobs.kinds import parse_request
from service.jobs.models import JobRecord

SCHEMA = """
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
CREATE TABLE IF NOT EXISTS job_keys (
    key TEXT PRIMARY KEY,
    job_id TEXT NOT NULL REFERENCES jobs (id),
    digest TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS job_keys_created ON job_keys (created);
CREATE TABLE IF NOT EXISTS probe (
    id INTEGER PRIMARY KEY,
    data BLOB NOT NULL
);
"""
# Columns added after the first release: (table, column, definition); added to older databases at open.
ADDED_COLUMNS = (
    ("jobs", "origin", "TEXT NOT NULL DEFAULT 'service'"),
    ("jobs", "owner", "TEXT"),
    ("jobs", "lease_until", "REAL"),
    ("jobs", "version", "TEXT"),
)
JOB_COLUMNS = "id, request, status, progress, summary, error, cancel_requested, origin, version, created, updated"


def create_tables(db: sqlite3.Connection) -> None:
    """Create the tables (if new) and add the columns later versions introduced (with their defaults)."""
    db.executescript(SCHEMA)
    for table, column, definition in ADDED_COLUMNS:
        present = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
        if column not in present:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")


def job_record(row: tuple[Any, ...]) -> JobRecord:
    """Build a JobRecord from a row of JOB_COLUMNS."""
    job_id, request, status, progress, summary, error, cancel, origin, version, created, updated = row
    return JobRecord(
        id=job_id,
        request=parse_request(request),
        status=status,
        progress=JobProgress.model_validate_json(progress),
        summary=JobSummary.model_validate_json(summary) if summary else None,
        error=error,
        cancel_requested=bool(cancel),
        origin=origin,
        version=version,
        created_at=created,
        updated_at=updated,
    )
