"""Durable review state: SQLite (stdlib ``sqlite3``, WAL, ``synchronous=FULL``) in ``data_dir/reviews.db``.

Tables: ``rounds`` (one per reviewed version: rubric, fraction, reviewers), ``items`` (a snapshot of
each sampled row, so the page never scans Parquet and the item stays what was reviewed),
``assignments`` (each reviewer's queue, in order), ``decisions`` (one row per item *and reviewer*:
two reviewers can never overwrite each other; a reviewer's later save of the same item bumps its
``revision``, and a save based on a stale revision is refused) and ``decision_log`` (every save,
append-only). Each write is one transaction committed before the call returns, so a decision
acknowledged to the browser survives a crash. A connection is opened per call (cheap for SQLite;
safe from any thread of the web server or the CLI).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from agents.schemas import Sample, utc_now
from graph.reviews.errors import NotAssignedError, ReviewConflictError, ReviewNotFoundError
from graph.reviews.model import Assignment, ReviewDecision, Round

DB_FILE = "reviews.db"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS rounds (ref TEXT PRIMARY KEY, body TEXT NOT NULL, created TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (
    ref TEXT NOT NULL REFERENCES rounds (ref), sample_id TEXT NOT NULL, stratum TEXT NOT NULL,
    sample TEXT NOT NULL, PRIMARY KEY (ref, sample_id)
);
CREATE TABLE IF NOT EXISTS assignments (
    ref TEXT NOT NULL, sample_id TEXT NOT NULL, reviewer TEXT NOT NULL, position INTEGER NOT NULL,
    role TEXT NOT NULL, PRIMARY KEY (ref, sample_id, reviewer),
    FOREIGN KEY (ref, sample_id) REFERENCES items (ref, sample_id)
);
CREATE INDEX IF NOT EXISTS assignments_queue ON assignments (ref, reviewer, position);
CREATE TABLE IF NOT EXISTS decisions (
    ref TEXT NOT NULL, sample_id TEXT NOT NULL, reviewer TEXT NOT NULL, body TEXT NOT NULL,
    revision INTEGER NOT NULL, decided TEXT NOT NULL, PRIMARY KEY (ref, sample_id, reviewer),
    FOREIGN KEY (ref, sample_id, reviewer) REFERENCES assignments (ref, sample_id, reviewer)
);
CREATE TABLE IF NOT EXISTS decision_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT, ref TEXT NOT NULL, sample_id TEXT NOT NULL,
    reviewer TEXT NOT NULL, body TEXT NOT NULL, at TEXT NOT NULL
);
"""


class ReviewStore:
    """Rounds, queues and decisions of every reviewed version in one SQLite file."""

    def __init__(self, data_dir: Path) -> None:
        """Use (and create if needed) ``data_dir/reviews.db``."""
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / DB_FILE
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            db.execute("PRAGMA synchronous=FULL")
            db.execute("PRAGMA foreign_keys=ON")
            yield db
        finally:
            db.close()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    # ------------------------------------------------------------------ rounds

    def create_round(self, round_: Round, items: list[tuple[Sample, str]], assignments: list[Assignment]) -> None:
        """Store a new round with its item snapshots and queues, all or nothing.

        Raises:
            ReviewConflictError: The version already has a round.
        """
        with self._transaction() as db:
            if db.execute("SELECT 1 FROM rounds WHERE ref = ?", (round_.ref,)).fetchone():
                raise ReviewConflictError(
                    f"{round_.ref} already has a review round; see 'dialogforge review status {round_.ref}'"
                )
            db.execute(
                "INSERT INTO rounds VALUES (?, ?, ?)", (round_.ref, round_.model_dump_json(), utc_now().isoformat())
            )
            db.executemany(
                "INSERT INTO items VALUES (?, ?, ?, ?)",
                [(round_.ref, sample.id, stratum, sample.model_dump_json()) for sample, stratum in items],
            )
            self._insert_assignments(db, assignments)

    def add_assignments(self, assignments: list[Assignment]) -> None:
        """Add items to queues (a third reviewer settling disagreements); existing ones are kept."""
        with self._transaction() as db:
            self._insert_assignments(db, assignments)

    @staticmethod
    def _insert_assignments(db: sqlite3.Connection, assignments: list[Assignment]) -> None:
        db.executemany(
            "INSERT OR IGNORE INTO assignments VALUES (?, ?, ?, ?, ?)",
            [(a.ref, a.sample_id, a.reviewer, a.position, a.role) for a in assignments],
        )

    def round(self, ref: str) -> Round:
        """Return the round of a version.

        Raises:
            ReviewNotFoundError: The version has no round.
        """
        with self._connect() as db:
            row = db.execute("SELECT body FROM rounds WHERE ref = ?", (ref,)).fetchone()
        if row is None:
            raise ReviewNotFoundError(f"{ref} has no review round; make one with 'dialogforge review assign {ref}'")
        return Round.model_validate_json(row[0])

    def rounds_of(self, reviewer: str) -> list[tuple[Round, int, int]]:
        """Return the rounds this reviewer has items in, with (assigned, decided) counts."""
        query = """
            SELECT r.body, COUNT(a.sample_id), COUNT(d.sample_id) FROM assignments a
            JOIN rounds r ON r.ref = a.ref
            LEFT JOIN decisions d ON d.ref = a.ref AND d.sample_id = a.sample_id AND d.reviewer = a.reviewer
            WHERE a.reviewer = ? GROUP BY a.ref ORDER BY r.created
        """
        with self._connect() as db:
            rows = db.execute(query, (reviewer,)).fetchall()
        return [(Round.model_validate_json(body), assigned, decided) for body, assigned, decided in rows]

    # ------------------------------------------------------------------ items

    def item(self, ref: str, sample_id: str, reviewer: str) -> tuple[Sample, Assignment]:
        """Return an item of this reviewer's queue.

        Raises:
            NotAssignedError: The item is not in this reviewer's queue (whether or not it exists).
        """
        query = """
            SELECT i.sample, a.position, a.role, i.stratum FROM assignments a
            JOIN items i ON i.ref = a.ref AND i.sample_id = a.sample_id
            WHERE a.ref = ? AND a.sample_id = ? AND a.reviewer = ?
        """
        with self._connect() as db:
            row = db.execute(query, (ref, sample_id, reviewer)).fetchone()
        if row is None:
            raise NotAssignedError(f"{sample_id!r} is not in {reviewer}'s queue for {ref}")
        assignment = Assignment(
            ref=ref, sample_id=sample_id, reviewer=reviewer, position=row[1], role=row[2], stratum=row[3]
        )
        return Sample.model_validate_json(row[0]), assignment

    def samples(self, ref: str) -> dict[str, Sample]:
        """Return every item snapshot of a round, by sample id."""
        with self._connect() as db:
            rows = db.execute("SELECT sample_id, sample FROM items WHERE ref = ?", (ref,)).fetchall()
        return {sample_id: Sample.model_validate_json(body) for sample_id, body in rows}

    def queue(self, ref: str, reviewer: str) -> list[tuple[Assignment, bool]]:
        """Return a reviewer's queue in order, each with whether they have decided it."""
        query = """
            SELECT a.sample_id, a.position, a.role, d.sample_id IS NOT NULL FROM assignments a
            LEFT JOIN decisions d ON d.ref = a.ref AND d.sample_id = a.sample_id AND d.reviewer = a.reviewer
            WHERE a.ref = ? AND a.reviewer = ? ORDER BY a.position, a.sample_id
        """
        with self._connect() as db:
            rows = db.execute(query, (ref, reviewer)).fetchall()
        return [
            (Assignment(ref=ref, sample_id=sid, reviewer=reviewer, position=pos, role=role), bool(done))
            for sid, pos, role, done in rows
        ]

    def assignments(self, ref: str) -> list[Assignment]:
        """Return every assignment of a round."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT sample_id, reviewer, position, role FROM assignments WHERE ref = ? ORDER BY position", (ref,)
            ).fetchall()
        return [Assignment(ref=ref, sample_id=s, reviewer=r, position=p, role=role) for s, r, p, role in rows]

    # -------------------------------------------------------------- decisions

    def save(self, decision: ReviewDecision, expected_revision: int | None = None) -> ReviewDecision:
        """Store a reviewer's decision on an item of their queue; return it with its new revision.

        ``expected_revision`` is the revision the reviewer's page showed (0: none yet): a save
        made from a stale page (the same reviewer in another tab) is refused instead of
        overwriting the newer decision.

        Raises:
            NotAssignedError: The item is not in the reviewer's queue.
            ReviewConflictError: The stored revision is not ``expected_revision``.
        """
        key = (decision.ref, decision.sample_id, decision.reviewer)
        with self._transaction() as db:
            if not db.execute(
                "SELECT 1 FROM assignments WHERE ref = ? AND sample_id = ? AND reviewer = ?", key
            ).fetchone():
                raise NotAssignedError(f"{decision.sample_id!r} is not in {decision.reviewer}'s queue")
            row = db.execute(
                "SELECT revision FROM decisions WHERE ref = ? AND sample_id = ? AND reviewer = ?", key
            ).fetchone()
            current = row[0] if row else 0
            if expected_revision is not None and expected_revision != current:
                raise ReviewConflictError(
                    "this item was saved again meanwhile (another tab?); reload the page to see the newer decision"
                )
            stored = decision.model_copy(update={"revision": current + 1, "decided_at": utc_now()})
            body = stored.model_dump_json()
            db.execute(
                "INSERT INTO decisions VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (ref, sample_id, reviewer) "
                "DO UPDATE SET body = excluded.body, revision = excluded.revision, decided = excluded.decided",
                (*key, body, stored.revision, stored.decided_at.isoformat()),
            )
            db.execute(
                "INSERT INTO decision_log (ref, sample_id, reviewer, body, at) VALUES (?, ?, ?, ?, ?)",
                (*key, body, stored.decided_at.isoformat()),
            )
        return stored

    def decision(self, ref: str, sample_id: str, reviewer: str) -> ReviewDecision | None:
        """Return a reviewer's decision on an item, if any."""
        with self._connect() as db:
            query = "SELECT body FROM decisions WHERE ref = ? AND sample_id = ? AND reviewer = ?"
            row = db.execute(query, (ref, sample_id, reviewer)).fetchone()
        return ReviewDecision.model_validate_json(row[0]) if row else None

    def decisions(self, ref: str) -> list[ReviewDecision]:
        """Return every decision of a round (one per item and reviewer)."""
        with self._connect() as db:
            rows = db.execute("SELECT body FROM decisions WHERE ref = ? ORDER BY decided", (ref,)).fetchall()
        return [ReviewDecision.model_validate_json(body) for (body,) in rows]

    def log_size(self, ref: str) -> int:
        """Return how many saves the append-only log holds for a round."""
        with self._connect() as db:
            return int(db.execute("SELECT COUNT(*) FROM decision_log WHERE ref = ?", (ref,)).fetchone()[0])
