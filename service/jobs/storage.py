"""Whether the data directory can take writes: free space, and a full disk seen by a write.

A write that fails with "disk full" marks the store full (:meth:`StorageMonitor.report_full`);
it stays full until the file system has the store's reserve free again and a probe write succeeds.
``/healthz`` shows the state, and the job manager resumes the jobs a full disk interrupted as
soon as :meth:`StorageMonitor.check` says the store is writable again.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from service.jobs.store import JobStore

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StorageStatus:
    """The store's state: writable or not, free bytes, and why not."""

    writable: bool
    free_bytes: int
    reason: str = ""


class StorageMonitor:
    """Tracks whether the job store can be written (thread-safe)."""

    def __init__(self, store: JobStore) -> None:
        """Watch the data directory of ``store``."""
        self.store, self.data_dir = store, store.path.parent
        self._full_reason = ""
        self._lock = threading.Lock()

    @property
    def full(self) -> bool:
        """Whether a write has failed with "disk full" since the store was last found writable."""
        with self._lock:
            return bool(self._full_reason)

    def report_full(self, reason: str) -> None:
        """Record that a write failed because the disk is full."""
        with self._lock:
            if not self._full_reason:
                logger.error("the data directory %s is full: %s", self.data_dir, reason)
            self._full_reason = reason

    def check(self) -> StorageStatus:
        """Return the state now; a store marked full is probed (one small write) to see if it recovered."""
        try:
            free = self.store.free_bytes()
        except OSError as exc:
            return StorageStatus(False, 0, f"cannot read the data directory: {exc.strerror or exc}")
        if free < self.store.reserve_bytes:
            reserve = self.store.reserve_bytes // 1024
            return StorageStatus(False, free, f"{free // 1024} KiB free in {self.data_dir}, {reserve} KiB needed")
        if not self.full:
            return StorageStatus(True, free)
        try:
            self.store.probe_write()
        except Exception as exc:  # still full, or another write error: not writable either way
            return StorageStatus(False, free, f"{type(exc).__name__}: {exc}")
        with self._lock:
            self._full_reason = ""
        logger.info("the data directory %s is writable again", self.data_dir)
        return StorageStatus(True, free)
