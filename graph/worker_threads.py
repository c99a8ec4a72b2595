"""Enough worker threads for a job's blocking steps: asyncio's default pool is far too small.

A sample's blocking steps (an embedding round trip, a Chroma query, a call-cache read) run in the
event loop's default executor through ``asyncio.to_thread``. That pool holds ``cpu_count + 4``
threads: 6 on 2 cores. At ``--concurrency 32`` the samples then queue for those 6 threads while
each waits on a 0.1 s embedding round trip (measured: the LLM endpoint saw 4 calls in flight of
32 after the first drafts, and the CLI reached 0.37 of the ideal rate). :func:`ensure_worker_threads`
gives the loop a pool of :data:`MAX_WORKER_THREADS`; a pool makes its threads only as calls need
them and reuses idle ones, so a small job still runs on a few.
"""

from __future__ import annotations

import asyncio
import weakref
from concurrent.futures import ThreadPoolExecutor

MAX_WORKER_THREADS = 512  # a bound: 4 jobs x 64 samples x 2 blocking steps at once, and room to spare

_sized: weakref.WeakSet[asyncio.AbstractEventLoop] = weakref.WeakSet()


def ensure_worker_threads() -> None:
    """Give the running loop a default pool of up to :data:`MAX_WORKER_THREADS` threads (once per loop)."""
    loop = asyncio.get_running_loop()
    if loop in _sized:
        return
    loop.set_default_executor(ThreadPoolExecutor(MAX_WORKER_THREADS, thread_name_prefix="dialogforge-worker"))
    _sized.add(loop)
