"""Faults a job cannot work around by retrying a sample: the storage it writes to is full."""

from __future__ import annotations

import errno
import sqlite3

FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
FULL_MESSAGES = ("database or disk is full", "no space left on device", "disk quota exceeded")
MAX_CHAIN = 8


class StorageFull(Exception):
    """Base of the errors a store raises when it refuses a write because its disk is full."""


def is_storage_full(exc: BaseException) -> bool:
    """Whether an exception (or one it was raised from) says the disk or the database is full.

    A store says so with :class:`StorageFull`, SQLite with ``SQLITE_FULL``, the OS with
    ``ENOSPC``/``EDQUOT``; libraries that wrap them (Chroma's Rust core) keep only the words, so
    those are matched too.
    """
    seen: BaseException | None = exc
    for _ in range(MAX_CHAIN):
        if seen is None:
            return False
        if isinstance(seen, StorageFull):
            return True
        if isinstance(seen, sqlite3.Error) and getattr(seen, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL:
            return True
        if isinstance(seen, OSError) and seen.errno in FULL_ERRNOS:
            return True
        if any(words in str(seen).lower() for words in FULL_MESSAGES):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
