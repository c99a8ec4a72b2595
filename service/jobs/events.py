"""Fan job updates out to subscribers through bounded queues that never block the job.

Each subscriber has its own queue of ``queue_size`` updates. When a slow subscriber's queue is
full, the oldest update is dropped to make room (and counted in the next update it reads), so a
job never waits for a reader, and the last update (``end``) is always delivered. A job's
``progress`` updates go through a :class:`Throttle`: at most one per ``PROGRESS_INTERVAL_S``,
the latest counters always sent within that interval.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from service.jobs.errors import LimitExceededError
from service.jobs.models import JobUpdate

PROGRESS_INTERVAL_S = 0.25
"""The shortest time between two ``progress`` updates of one job (at most four a second)."""


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


class Throttle:
    """Send at most once per ``interval_s``: the first offer at once, a later one when its interval has passed.

    An offer inside the interval is not lost: one send is scheduled for the end of the interval
    (it then sends the counters of that moment), so readers see the latest state within
    ``interval_s`` and at most one send is ever pending.
    """

    def __init__(
        self,
        send: Callable[[], None],
        interval_s: float = PROGRESS_INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Wrap ``send`` (called with no arguments: it reads the current state itself)."""
        self.send, self.interval_s, self.clock = send, interval_s, clock
        self._last: float | None = None
        self._later: asyncio.TimerHandle | None = None

    def offer(self) -> None:
        """Send now if the interval has passed, else make sure one send happens when it has (needs a running loop)."""
        now = self.clock()
        wait = 0.0 if self._last is None else self._last + self.interval_s - now
        if wait <= 0:
            self._fire()
        elif self._later is None:
            self._later = asyncio.get_running_loop().call_later(wait, self._fire)

    def close(self) -> None:
        """Drop the pending send (the job ended: its ``end`` update carries the final counters)."""
        if self._later is not None:
            self._later.cancel()
            self._later = None

    def _fire(self) -> None:
        self._later = None
        self._last = self.clock()
        self.send()
