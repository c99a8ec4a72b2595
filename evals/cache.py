"""A SQLite cache of every judgement, so a rerun costs nothing and an interrupted run resumes.

Key: (judge version = prompt hash or baseline fingerprint, model, item key = hash of text and
context, criterion). Each judgement is committed as soon as it completes (WAL journal), so a run
killed half-way keeps everything it finished.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import astuple, dataclass
from pathlib import Path
from types import TracebackType

from agents.schemas import Verdict
from evals.judges import Judgement

_SCHEMA = """
CREATE TABLE IF NOT EXISTS judgements (
    version TEXT NOT NULL,
    model TEXT NOT NULL,
    item TEXT NOT NULL,
    criterion TEXT NOT NULL,
    judge TEXT NOT NULL,
    score REAL,
    error TEXT,
    raw TEXT NOT NULL,
    input_tokens INTEGER NOT NULL,
    output_tokens INTEGER NOT NULL,
    seconds REAL NOT NULL,
    weighted REAL,
    created_at TEXT NOT NULL DEFAULT (datetime('now')),
    PRIMARY KEY (version, model, item, criterion)
);
CREATE TABLE IF NOT EXISTS verdicts (
    version TEXT NOT NULL,
    model TEXT NOT NULL,
    verdict TEXT NOT NULL,
    created_at TEXT NOT NULL DEFAULT (datetime('now')),
    PRIMARY KEY (version, model)
)
"""


@dataclass(frozen=True)
class CacheKey:
    """What identifies one judgement."""

    version: str
    model: str
    item: str
    criterion: str


class JudgementCache:
    """Store and fetch judgements in one SQLite file (``:memory:`` for tests)."""

    def __init__(self, path: Path | str) -> None:
        """Open (and create) the cache database.

        Args:
            path: Database file; its folder is created. ``":memory:"`` keeps it in memory.
        """
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(judgements)")}
        if "weighted" not in columns:  # a cache written before weighted scores were kept
            self._db.execute("ALTER TABLE judgements ADD COLUMN weighted REAL")
        self._db.commit()

    def get(self, key: CacheKey) -> Judgement | None:
        """Return the stored judgement for a key, or None."""
        with self._lock:
            row = self._db.execute(
                "SELECT score, error, raw, input_tokens, output_tokens, seconds, weighted FROM judgements "
                "WHERE version=? AND model=? AND item=? AND criterion=?",
                astuple(key),
            ).fetchone()
        return Judgement(*row) if row else None

    def put(self, key: CacheKey, judge_name: str, judgement: Judgement) -> None:
        """Store one judgement and commit at once."""
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO judgements (version, model, item, criterion, judge, score, error, "
                "raw, input_tokens, output_tokens, seconds, weighted) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (*astuple(key), judge_name, *astuple(judgement)),
            )
            self._db.commit()

    def get_verdict(self, version: str, model: str) -> Verdict | None:
        """Return a stored whole-sample verdict (see evals/verdicts.py), or None."""
        with self._lock:
            row = self._db.execute(
                "SELECT verdict FROM verdicts WHERE version=? AND model=?", (version, model)
            ).fetchone()
        return Verdict.model_validate_json(row[0]) if row else None

    def put_verdict(self, version: str, model: str, verdict: Verdict) -> None:
        """Store one whole-sample verdict and commit at once."""
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO verdicts (version, model, verdict) VALUES (?,?,?)",
                (version, model, verdict.model_dump_json()),
            )
            self._db.commit()

    def count(self) -> int:
        """Return how many judgements are stored."""
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM judgements").fetchone()[0])

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> JudgementCache:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()
