"""The job's own bound on LLM calls in flight: its concurrency covers every call it makes.

A job runs ``concurrency`` samples at once, and each sample makes one call at a time; the topic
planner's brainstorms run beside them. Without a bound of the job's own they would go over the
concurrency the user asked for (measured: 36 in flight at ``--concurrency 32``). The runner opens
:func:`job_call_slots` around the job; every live call made in its context (samples, brainstorms,
the tasks they start) holds one of its slots while it is on the wire. Cache hits and batch-mode
calls hold none. The endpoint's :class:`~agents.admission.Admission` still bounds all jobs together.

A job's concurrency is the calls it keeps in flight, not the samples: a sample spends part of its
time between calls (checks, an embedding round trip, writes), and while it does its slot would sit
idle. :func:`work_in_flight` is how many samples a job keeps going so that the slots stay busy.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

HEADROOM = 2  # a job keeps 1 sample more than its concurrency for every 2 calls it may have in flight


def work_in_flight(concurrency: int) -> int:
    """Return how many samples (or parents) a job of ``concurrency`` calls in flight keeps going.

    Half as many again as the concurrency, so the call slots are busy while some samples are between
    calls (checks, an embedding round trip, writes: 0.15-0.25 s a sample beside 2 s of calls) and
    the samples that wait for a slot keep the slots full to the job's end; none more below a
    concurrency of 2, so a job of one call at a time runs one sample at a time (and a rerun of it
    asks the call cache for the same calls in the same order).
    """
    return concurrency + concurrency // HEADROOM


current_slots: contextvars.ContextVar[asyncio.Semaphore | None] = contextvars.ContextVar(
    "dialogforge_job_call_slots", default=None
)


@contextmanager
def job_call_slots(concurrency: int) -> Iterator[asyncio.Semaphore]:
    """Bound the live calls made in the enclosed code (and the tasks it starts) to ``concurrency``."""
    slots = asyncio.Semaphore(concurrency)
    token = current_slots.set(slots)
    try:
        yield slots
    finally:
        current_slots.reset(token)


@asynccontextmanager
async def job_call_slot() -> AsyncIterator[None]:
    """Hold one of the current job's slots for one call (no bound outside a job)."""
    slots = current_slots.get()
    if slots is None:
        yield
        return
    async with slots:
        yield
