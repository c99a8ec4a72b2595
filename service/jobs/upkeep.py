"""The job manager's background upkeep: job leases kept alive, and jobs a full disk stopped resumed.

Every ``lease_s / 3`` seconds it renews the lease of every job this process runs (a job whose
lease another process holds now is stopped at once, without writing), and, when jobs were
stopped by a full disk, probes the store and resumes them as soon as it can be written again.
It never dies of an error: a failed round is logged and the next one runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING

from service.jobs.errors import StorageFullError
from service.jobs.models import RESUMABLE_STATUSES

if TYPE_CHECKING:
    from service.jobs.manager import JobManager

logger = logging.getLogger(__name__)


class Upkeep:
    """One background task per job manager (started with the first job, stopped at shutdown)."""

    def __init__(self, manager: JobManager, *, recover: bool) -> None:
        """Keep ``manager``; ``recover``: resume jobs a full disk stopped (the service, not the CLI)."""
        self.manager, self.recover = manager, recover
        self.interval_s = max(manager.lease_s / 3, 0.05)
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the loop (once)."""
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="job-upkeep")

    async def stop(self) -> None:
        """Stop the loop."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            try:
                await self.tick()
            except Exception:
                logger.exception("job upkeep failed; trying again in %.1f s", self.interval_s)

    async def tick(self) -> None:
        """Run one round: renew leases, then resume stalled jobs if the store is writable again."""
        manager = self.manager
        running = manager.executions()
        if running:
            try:
                renew = manager.store.renew_leases
                lost = await manager.store.run(renew, manager.owner_id, list(running), manager.lease_s)
            except StorageFullError as exc:
                manager.storage.report_full(str(exc))
                lost = []
            for job_id in lost:
                await running[job_id].lose_lease("another process")
        if self.recover and manager.stalled and not running:  # the memory is reopened only while nothing uses it
            status = await manager.store.run(manager.storage.check)
            if status.writable:
                await self.resume_stalled()

    async def resume_stalled(self) -> None:
        """Resume the jobs a full disk stopped, on a fresh Chroma client (the store is writable again)."""
        manager = self.manager
        await asyncio.to_thread(manager.engine.reopen_memory)
        for job_id in list(manager.stalled):
            record = await manager.store.run(manager.store.get_job, job_id)
            manager.stalled.pop(job_id, None)
            if record is not None and record.status in RESUMABLE_STATUSES and job_id not in manager.executions():
                await manager.relaunch(record)
