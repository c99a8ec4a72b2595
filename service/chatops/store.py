"""Durable chat jobs: which chat started a job, and where its progress message is.

One table, ``chat_jobs``, in the service's job database (``data_dir/dialogforge.db``, beside
``service.jobs.store``'s tables, through a connection of its own so the job store stays
untouched). A row is written when a chat starts a job, with its ``anchor`` (the platform's
address of the conversation); the anchor again with ``posted = 1`` once the progress message
exists (now naming it: channel, message id, thread); and ``following = 0`` once the file and
the summary were delivered (``file_sent = 1`` already once the file is, so a restart after it
sends the summary only). At start the chat dispatcher reads the rows still ``following``
and picks those jobs up again, so a restarted server keeps updating the same message and
still delivers the file.

It also answers "was this job started from this chat?" for status and cancel, and remembers
platform deliveries (``chat_deliveries``) so a retry of one runs once, also across a restart:
a delivery is claimed when it arrives and marked handled once it was answered (for a job: in
the transaction that records the job). A retry finds it handled and is dropped; a retry of a
delivery that a killed process claimed but never handled runs again (the claim names the
process that took it).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from agents.schemas import utc_now
from graph.datasets.export import ExportFormat
from service.jobs.store import DB_FILE

_SCHEMA = """
CREATE TABLE IF NOT EXISTS chat_jobs (
    job_id TEXT PRIMARY KEY,
    platform TEXT NOT NULL,
    user_key TEXT NOT NULL,
    channel_key TEXT NOT NULL,
    label TEXT NOT NULL,
    n INTEGER NOT NULL,
    format TEXT NOT NULL,
    anchor TEXT NOT NULL,
    posted INTEGER NOT NULL DEFAULT 0,
    following INTEGER NOT NULL DEFAULT 1,
    created TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chat_jobs_following ON chat_jobs (following);
CREATE TABLE IF NOT EXISTS chat_deliveries (
    key TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    handled INTEGER NOT NULL DEFAULT 0,
    received REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS chat_deliveries_received ON chat_deliveries (received);
"""
# A new key is claimed; a known one is taken over only from another process that never handled it.
_CLAIM = """
INSERT INTO chat_deliveries (key, owner, handled, received) VALUES (?, ?, 0, ?)
ON CONFLICT (key) DO UPDATE SET owner = excluded.owner WHERE handled = 0 AND owner != excluded.owner
"""
_HANDLED = "UPDATE chat_deliveries SET handled = 1 WHERE key = ?"
_ADDED = (  # added to older databases at open
    ("chat_jobs", "file_sent", "INTEGER NOT NULL DEFAULT 0"),
    ("chat_jobs", "kind", "TEXT NOT NULL DEFAULT 'generate'"),
)
_COLUMNS = "job_id, platform, user_key, channel_key, label, n, format, anchor, posted, following, file_sent, kind"

Anchor = dict[str, str]
T = TypeVar("T")


@dataclass(frozen=True)
class ChatJob:
    """A job started from chat: who, where, what, and where its progress message is."""

    job_id: str
    platform: str
    user_key: str
    channel_key: str
    label: str
    n: int
    format: ExportFormat
    anchor: Anchor = field(default_factory=dict)
    posted: bool = False
    following: bool = True
    file_sent: bool = False
    kind: str = "generate"  # the job kind: what the follower shows and delivers


class ChatJobStore:
    """The ``chat_jobs`` table (synchronous; call it through :meth:`run` from the event loop)."""

    def __init__(self, data_dir: Path) -> None:
        """Open ``data_dir/dialogforge.db`` (created if needed) and make sure the table exists."""
        data_dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(data_dir / DB_FILE, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        for table, column, definition in _ADDED:
            if column not in {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}:
                self._db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")

    async def run(self, function: Callable[..., T], *args: Any) -> T:
        """Run one of this store's methods in a worker thread and await its result."""
        return await asyncio.to_thread(function, *args)

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._db.close()

    def _execute(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def _transaction(self, statements: list[tuple[str, tuple[Any, ...]]]) -> list[int]:
        """Run statements in one transaction; return each one's row count."""
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                counts = [self._db.execute(sql, params).rowcount for sql, params in statements]
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
            return counts

    def add(self, job: ChatJob, delivery: str | None = None) -> None:
        """Record a job started from chat, and mark the delivery that asked for it handled (one transaction)."""
        statements: list[tuple[str, tuple[Any, ...]]] = [
            (
                f"INSERT OR REPLACE INTO chat_jobs ({_COLUMNS}, created) VALUES ({', '.join('?' * 13)})",
                (
                    job.job_id,
                    job.platform,
                    job.user_key,
                    job.channel_key,
                    job.label,
                    job.n,
                    job.format,
                    json.dumps(job.anchor),
                    int(job.posted),
                    int(job.following),
                    int(job.file_sent),
                    job.kind,
                    utc_now().isoformat(),
                ),
            )
        ]
        if delivery is not None:
            statements.append((_HANDLED, (delivery,)))
        self._transaction(statements)

    def set_posted(self, job_id: str, anchor: Anchor) -> None:
        """Remember that the job's progress message is posted, and where."""
        self._execute("UPDATE chat_jobs SET anchor = ?, posted = 1 WHERE job_id = ?", (json.dumps(anchor), job_id))

    def set_file_sent(self, job_id: str) -> None:
        """Remember that the job's file (or its link) is in the chat: a restart does not send it again."""
        self._execute("UPDATE chat_jobs SET file_sent = 1 WHERE job_id = ?", (job_id,))

    def finish(self, job_id: str) -> None:
        """Mark a job's file and summary delivered: it is not followed again after a restart."""
        self._execute("UPDATE chat_jobs SET following = 0 WHERE job_id = ?", (job_id,))

    def claim_delivery(self, key: str, owner: str, ttl_s: float) -> bool:
        """Claim a platform delivery for ``owner`` (this process); False when it ran or runs already.

        Claims older than ``ttl_s`` are forgotten first (platforms stop retrying long before).
        """
        now = time.time()
        expire = ("DELETE FROM chat_deliveries WHERE received < ?", (now - ttl_s,))
        counts = self._transaction([expire, (_CLAIM, (key, owner, now))])
        return counts[1] == 1

    def delivery_handled(self, key: str) -> None:
        """Mark a claimed delivery answered: its retries are dropped from now on."""
        self._execute(_HANDLED, (key,))

    def get(self, job_id: str) -> ChatJob | None:
        """Return the chat job, or None when the job was not started from chat."""
        rows = self._execute(f"SELECT {_COLUMNS} FROM chat_jobs WHERE job_id = ?", (job_id,))
        return _chat_job(rows[0]) if rows else None

    def following(self, limit: int) -> list[ChatJob]:
        """Return up to ``limit`` jobs whose delivery is not done yet, oldest first."""
        rows = self._execute(f"SELECT {_COLUMNS} FROM chat_jobs WHERE following = 1 ORDER BY created LIMIT ?", (limit,))
        return [_chat_job(row) for row in rows]


def _chat_job(row: tuple[Any, ...]) -> ChatJob:
    job_id, platform, user_key, channel_key, label, n, fmt, anchor, posted, following, file_sent, kind = row
    return ChatJob(
        job_id,
        platform,
        user_key,
        channel_key,
        label,
        int(n),
        fmt,
        json.loads(anchor),
        bool(posted),
        bool(following),
        bool(file_sent),
        str(kind),
    )
