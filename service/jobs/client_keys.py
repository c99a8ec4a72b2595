"""Client keys (idempotency keys): a retried job creation finds the job the first attempt made.

A caller that may send the same creation twice (an HTTP client whose connection dropped, a chat
platform that retries a delivery after the server was killed mid-request) names the creation
with a key. The ``job_keys`` table of the job store maps the key to the job and to a digest of
the request, and is written in the same transaction as the job itself, so a job and its key
exist together or not at all. Then:

- same key, same request -> the same job (no second one), whatever state it is in;
- same key, another request -> :class:`~service.jobs.errors.IdempotencyConflictError` (409);
- keys are kept ``KEY_TTL_S`` (24 h, as Stripe's); older ones are deleted when a key is written,
  so the table holds at most one day of job creations.

Callers namespace their keys (``http:...``, ``chat:feishu:...``) so they cannot meet.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from dataclasses import dataclass

from service.jobs.errors import IdempotencyConflictError, InvalidRequestError
from service.jobs.models import JobRequest

KEY_TTL_S = 24 * 3600.0
MAX_KEY_CHARS = 300
KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"
"""What an HTTP client may send as ``Idempotency-Key``: 1-255 visible ASCII characters."""
_KEY = re.compile(r"[\x21-\x7e]{1,300}")


@dataclass(frozen=True)
class ClientKey:
    """A creation's key and the digest of the request it was first sent with."""

    key: str
    digest: str

    @classmethod
    def of(cls, key: str, request: JobRequest) -> ClientKey:
        """Return the key of ``request`` (the digest covers every field, defaults included).

        Raises:
            InvalidRequestError: The key is empty, too long, or not visible ASCII.
        """
        if not _KEY.fullmatch(key):
            raise InvalidRequestError(f"a client key must be 1-{MAX_KEY_CHARS} visible ASCII characters (no spaces)")
        return cls(key, hashlib.sha256(request.model_dump_json().encode()).hexdigest())


def find(db: sqlite3.Connection, key: ClientKey, now: float, ttl_s: float) -> str | None:
    """Return the job id a live key names, or None.

    Raises:
        IdempotencyConflictError: The key was used for another request.
    """
    row = db.execute(
        "SELECT job_id, digest FROM job_keys WHERE key = ? AND created >= ?", (key.key, now - ttl_s)
    ).fetchone()
    if row is None:
        return None
    job_id, digest = row
    if digest != key.digest:
        raise IdempotencyConflictError(
            f"this client key was already used for job {job_id} with another request; "
            "send a new key for a new job, or the same request to get that job"
        )
    return str(job_id)


def remember(db: sqlite3.Connection, key: ClientKey, job_id: str, now: float, ttl_s: float) -> None:
    """Write a key for a new job (in the job's transaction) and delete the expired ones."""
    db.execute("DELETE FROM job_keys WHERE created < ?", (now - ttl_s,))
    db.execute(
        "INSERT OR REPLACE INTO job_keys (key, job_id, digest, created) VALUES (?, ?, ?, ?)",
        (key.key, job_id, key.digest, now),
    )
