"""The call cache: LLM answers, embedding vectors and topic plans on disk, shared by the jobs of a data directory.

One SQLite file (``data_dir/cache.db``, stdlib ``sqlite3`` in WAL mode, so several processes may
share it) holds:

- ``entries``: a key (sha256 of the call's canonical form, see :func:`call_key`), its kind
  (``chat``, ``embedding``), the stored bytes, their size and when the entry was stored and last
  used. The total size is bounded: past ``max_bytes`` the least recently used entries go first.
- ``plans``: what topic (and "already covered" list) a job's sample number ``k`` was given under
  a seed, so a resumed job or a rerun with the same ``--seed`` replays the same prompts (and hits
  the cached answers) whatever the order in which concurrent samples happened to plan.

Why stdlib SQLite rather than ``diskcache``: the bound, the LRU order and "older than 30 days"
are each one SQL statement here, a rerun needs the plans table beside the entries in one file,
and diskcache has no delete-by-age.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CACHE_FILE = "cache.db"
CACHE_HIT = "dialogforge_cache_hit"  # response_metadata flag of a chat answer served from the cache
DEFAULT_MAX_BYTES = 1024 * 1024 * 1024
KEY_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    key TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    value BLOB NOT NULL,
    size INTEGER NOT NULL,
    created REAL NOT NULL,
    used REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_used ON entries (used);
CREATE INDEX IF NOT EXISTS entries_created ON entries (created);
CREATE TABLE IF NOT EXISTS plans (
    scope TEXT NOT NULL,
    ordinal INTEGER NOT NULL,
    plan TEXT NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (scope, ordinal)
);
CREATE TABLE IF NOT EXISTS finished (
    scope TEXT NOT NULL,
    job_id TEXT NOT NULL,
    ordinal INTEGER NOT NULL,
    created REAL NOT NULL,
    PRIMARY KEY (scope, job_id, ordinal)
);
"""


def call_key(**parts: Any) -> str:
    """Return the cache key of a call: sha256 of its parts as canonical JSON (sorted keys)."""
    text = json.dumps({"v": KEY_VERSION, **parts}, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class KindStats:
    """Entries of one kind."""

    kind: str
    entries: int
    bytes: int
    oldest: float | None
    newest: float | None


class CallCache:
    """A bounded, process-shared store of call results (see the module docstring)."""

    def __init__(self, data_dir: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        """Open (and create if needed) ``data_dir/cache.db``."""
        if max_bytes < 1:
            raise ValueError("max_bytes must be positive")
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path, self.max_bytes = data_dir / CACHE_FILE, max_bytes
        self.hits = 0
        self.misses = 0
        self._lock = threading.Lock()
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # a lost last entry costs one call, not data
        self._db.executescript(_SCHEMA)
        self._size = int(self._db.execute("SELECT COALESCE(SUM(size), 0) FROM entries").fetchone()[0])

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._db.close()

    # -------------------------------------------------------------- entries

    def get(self, key: str) -> bytes | None:
        """Return the stored bytes of ``key`` (marking it used), or None."""
        with self._lock:
            row = self._db.execute("SELECT value FROM entries WHERE key = ?", (key,)).fetchone()
            if row is None:
                self.misses += 1
                return None
            self.hits += 1
            self._db.execute("UPDATE entries SET used = ? WHERE key = ?", (time.time(), key))
            return bytes(row[0])

    def get_many(self, keys: list[str]) -> dict[str, bytes]:
        """Return the stored bytes of the keys found (marking them used)."""
        found: dict[str, bytes] = {}
        with self._lock:
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(f"SELECT key, value FROM entries WHERE key IN ({marks})", chunk).fetchall()
                found.update((key, bytes(value)) for key, value in rows)
            if found:
                now = time.time()
                with self._transaction():  # one commit for all the marks, not one each
                    self._db.executemany("UPDATE entries SET used = ? WHERE key = ?", [(now, key) for key in found])
            self.hits += len(found)
            self.misses += len(keys) - len(found)
        return found

    def put_many(self, kind: str, items: dict[str, bytes]) -> None:
        """Store several entries of one kind, in one transaction."""
        if not items:
            return
        now = time.time()
        with self._lock, self._transaction():
            for key, value in items.items():
                self._put_locked(key, kind, value, now)
            if self._size > self.max_bytes:
                self._evict_locked(int(self.max_bytes * 0.9))

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        """Run the statements inside in one transaction (the lock held); on an error roll back and recount."""
        self._db.execute("BEGIN")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            self._size = int(self._db.execute("SELECT COALESCE(SUM(size), 0) FROM entries").fetchone()[0])
            raise
        self._db.execute("COMMIT")

    def put(self, key: str, kind: str, value: bytes) -> None:
        """Store ``value`` under ``key``; evict the least recently used entries past the bound."""
        self.put_many(kind, {key: value})

    def _put_locked(self, key: str, kind: str, value: bytes, now: float) -> None:
        old = self._db.execute("SELECT size FROM entries WHERE key = ?", (key,)).fetchone()
        self._db.execute(
            "INSERT OR REPLACE INTO entries (key, kind, value, size, created, used) VALUES (?, ?, ?, ?, ?, ?)",
            (key, kind, value, len(value), now, now),
        )
        self._size += len(value) - (old[0] if old else 0)

    def _evict_locked(self, target: int) -> None:
        """Delete least recently used entries until at most ``target`` bytes are kept."""
        rows = self._db.execute("SELECT key, size FROM entries ORDER BY used").fetchall()
        doomed = []
        for key, size in rows:
            if self._size <= target:
                break
            doomed.append((key,))
            self._size -= size
        self._db.executemany("DELETE FROM entries WHERE key = ?", doomed)

    def stats(self) -> list[KindStats]:
        """Return the entries, bytes and ages per kind."""
        with self._lock:
            rows = self._db.execute(
                "SELECT kind, COUNT(*), SUM(size), MIN(created), MAX(created) FROM entries GROUP BY kind ORDER BY kind"
            ).fetchall()
            plans = self._db.execute("SELECT COUNT(*), MIN(created), MAX(created) FROM plans").fetchone()
        found = [KindStats(kind, count, int(size or 0), oldest, newest) for kind, count, size, oldest, newest in rows]
        if plans[0]:
            found.append(KindStats("plan", plans[0], 0, plans[1], plans[2]))
        return found

    def clear(self, older_than_s: float | None = None) -> int:
        """Delete every entry and plan (or those stored more than ``older_than_s`` ago); return how many."""
        cutoff = time.time() - older_than_s if older_than_s is not None else float("inf")
        with self._lock:
            removed = self._db.execute("DELETE FROM entries WHERE created < ?", (cutoff,)).rowcount
            removed += self._db.execute("DELETE FROM plans WHERE created < ?", (cutoff,)).rowcount
            self._db.execute("DELETE FROM finished WHERE created < ?", (cutoff,))
            self._size = int(self._db.execute("SELECT COALESCE(SUM(size), 0) FROM entries").fetchone()[0])
        return int(removed)

    # ---------------------------------------------------------------- plans

    def plan(self, scope: str, ordinal: int) -> dict[str, Any] | None:
        """Return the plan recorded for sample ``ordinal`` of ``scope``, or None."""
        with self._lock:
            row = self._db.execute(
                "SELECT plan FROM plans WHERE scope = ? AND ordinal = ?", (scope, ordinal)
            ).fetchone()
        return json.loads(row[0]) if row else None

    def record_plan(self, scope: str, ordinal: int, plan: dict[str, Any]) -> None:
        """Record the plan of a sample; the first plan of an ordinal is kept (later jobs replay it)."""
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO plans (scope, ordinal, plan, created) VALUES (?, ?, ?, ?)",
                (scope, ordinal, json.dumps(plan, ensure_ascii=False), time.time()),
            )

    def finish(self, scope: str, job_id: str, ordinal: int) -> None:
        """Record that ``job_id`` finished its sample ``ordinal`` (a resumed job skips it)."""
        with self._lock:
            self._db.execute(
                "INSERT OR IGNORE INTO finished (scope, job_id, ordinal, created) VALUES (?, ?, ?, ?)",
                (scope, job_id, ordinal, time.time()),
            )

    def finished(self, scope: str, job_id: str) -> set[int]:
        """Return the ordinals ``job_id`` already finished under ``scope``."""
        with self._lock:
            rows = self._db.execute(
                "SELECT ordinal FROM finished WHERE scope = ? AND job_id = ?", (scope, job_id)
            ).fetchall()
        return {int(row[0]) for row in rows}
