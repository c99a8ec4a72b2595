"""Fan job updates out to subscribers through bounded queues that never block the job.

Each subscriber has its own queue of ``queue_size`` updates. When a slow subscriber's queue is
full, the oldest update is dropped to make room (and counted in the next update it reads), so a
job never waits for a reader, and the last update (``end``) is always delivered.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from service.jobs.errors import LimitExceededError
from service.jobs.models import JobUpdate


@dataclass(eq=False)
class Subscription:
    """One reader of one job's updates."""

    job_id: str
    queue: asyncio.Queue[JobUpdate]
    dropped: int = 0

    async def next(self) -> JobUpdate:
        """Wait for the next update; ``dropped`` tells how many were skipped before it."""
        update = await self.queue.get()
        if self.dropped:
            update = update.model_copy(update={"dropped": self.dropped})
            self.dropped = 0
        return update


@dataclass
class EventHub:
    """The subscribers of every job, bounded in number and in queued updates."""

    queue_size: int = 64
    max_subscribers: int = 256
    _subscribers: dict[str, set[Subscription]] = field(default_factory=dict)
    _seq: dict[str, int] = field(default_factory=dict)

    def open(self, job_id: str) -> Subscription:
        """Register a subscriber of one job.

        Raises:
            LimitExceededError: the job already has ``max_subscribers`` readers.
        """
        subscribers = self._subscribers.setdefault(job_id, set())
        if len(subscribers) >= self.max_subscribers:
            raise LimitExceededError(f"job {job_id} already has {self.max_subscribers} event readers; try again later")
        subscription = Subscription(job_id, asyncio.Queue(maxsize=self.queue_size))
        subscribers.add(subscription)
        return subscription

    def close(self, subscription: Subscription) -> None:
        """Unregister a subscriber."""
        subscribers = self._subscribers.get(subscription.job_id)
        if subscribers is not None:
            subscribers.discard(subscription)
            if not subscribers:
                del self._subscribers[subscription.job_id]

    def next_seq(self, job_id: str) -> int:
        """Return the next sequence number of a job's updates."""
        self._seq[job_id] = self._seq.get(job_id, 0) + 1
        return self._seq[job_id]

    def subscribers(self, job_id: str) -> int:
        """Return how many readers a job has."""
        return len(self._subscribers.get(job_id, ()))

    def publish(self, update: JobUpdate) -> None:
        """Deliver an update to every subscriber of its job without waiting."""
        for subscription in list(self._subscribers.get(update.job_id, ())):
            queue = subscription.queue
            if queue.full():
                queue.get_nowait()
                subscription.dropped += 1
            queue.put_nowait(update)
        if update.kind == "end":
            self._seq.pop(update.job_id, None)
