"""The job's own bound on LLM calls in flight: its concurrency covers every call it makes.

A job runs ``concurrency`` samples at once, and each sample makes one call at a time; the topic
planner's brainstorms run beside them. Without a bound of the job's own they would go over the
concurrency the user asked for (measured: 36 in flight at ``--concurrency 32``). The runner opens
:func:`job_call_slots` around the job; every live call made in its context (samples, brainstorms,
the tasks they start) holds one of its slots while it is on the wire. Cache hits and batch-mode
calls hold none. The endpoint's :class:`~agents.admission.Admission` still bounds all jobs together.
"""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

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
