"""Check style packs sent over the API in worker processes, never on the event loop.

Parsing 256 KiB of YAML takes 50-100 ms of CPU (libyaml, then pydantic). Done on the event loop
it stalled every other request for seconds; done in a thread it still competed with the loop
for the GIL (measured: /healthz waited up to 0.8 s behind four 250 KiB packs). Worker processes
(``spawn``: a clean interpreter, not a fork of a threaded server) leave the server's GIL and
heap alone, and a parser that crashes costs a worker, not the server: the pool is rebuilt.

Bounded: ``workers`` parses at once and ``waiting`` more queued; beyond that the caller gets
LimitExceededError (HTTP 429).
"""

from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from agents.styles import StylePack, StylePackError, parse_style_pack
from service.jobs.errors import InvalidRequestError, LimitExceededError

WORKERS = 2
WAITING = 8


def new_executor(workers: int) -> Executor:
    """Start the pool of parser processes (spawned: a fresh interpreter that imports only what parsing needs)."""
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))


class PackParser:
    """Validate pack text in a bounded pool of worker processes, started at first use."""

    def __init__(self, workers: int = WORKERS, waiting: int = WAITING) -> None:
        """Set the bounds; no process starts until the first :meth:`parse`."""
        self.workers, self.waiting = workers, waiting
        self._slots = asyncio.Semaphore(workers)
        self._pending = 0
        self._executor: Executor | None = None

    async def parse(self, text: str, source: str = "(request)") -> StylePack:
        """Return the validated pack.

        Raises:
            InvalidRequestError: the pack is not valid (the message names the field), or the parser crashed.
            LimitExceededError: ``workers + waiting`` packs are being checked already.
        """
        if self._pending >= self.workers + self.waiting:
            raise LimitExceededError(f"{self._pending} style packs are being checked; send this one again shortly")
        self._pending += 1
        try:
            async with self._slots:
                if self._executor is None:
                    self._executor = new_executor(self.workers)
                executor = self._executor
                return await asyncio.get_running_loop().run_in_executor(executor, parse_style_pack, text, source)
        except StylePackError as exc:
            raise InvalidRequestError(str(exc)) from None
        except BrokenProcessPool:
            self._executor = None  # the next parse starts a fresh pool
            raise InvalidRequestError(
                "the style pack could not be checked (its parser stopped); not registered"
            ) from None
        finally:
            self._pending -= 1

    def close(self) -> None:
        """Stop the worker processes (queued parses are cancelled)."""
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None
