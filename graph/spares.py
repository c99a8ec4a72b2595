"""How many samples to keep in flight near a job's end, so a rejected one does not leave a serial tail.

With exactly ``n`` to accept, a runner that starts a sample only while ``accepted + in_flight <
n`` waits, at the end, for each rejected sample to be redone one after another: a chain of a few
rejections adds a whole sample's time each (measured with the peers' task, 96 samples at 32 in
flight: 4-5 s of a 12-13 s job with 1-10 calls in flight). Instead the runner keeps starting
samples while the ones in flight are unlikely to bring the job to ``n``: while the chance that at
least ``remaining`` of ``in_flight`` samples are accepted, each with the job's acceptance rate so
far, is below :data:`CONFIDENCE`. With no rejection seen, that is the old rule exactly.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterable
from typing import Any

from agents.schemas import TokenUsage

CONFIDENCE = 0.9
SPARES_AFTER = 10  # finished samples before the acceptance rate is trusted to start spares
SURPLUS = "surplus: the job had its n accepted samples when this spare finished"


def chance_of_enough(in_flight: int, remaining: int, acceptance: float) -> float:
    """P(at least ``remaining`` of ``in_flight`` independent samples accepted, each with ``acceptance``)."""
    if remaining <= 0:
        return 1.0
    if in_flight < remaining:
        return 0.0
    rejection = 1.0 - acceptance
    return sum(
        math.comb(in_flight, kept) * acceptance**kept * rejection ** (in_flight - kept)
        for kept in range(remaining, in_flight + 1)
    )


def should_start_another(in_flight: int, remaining: int, acceptance: float) -> bool:
    """Whether to start one more sample: the ones in flight would likely not reach ``remaining``."""
    return remaining > 0 and chance_of_enough(in_flight, remaining, acceptance) < CONFIDENCE


def acceptance_so_far(accepted: int, rejected: int, served: TokenUsage) -> float:
    """The acceptance rate to plan spares with: 1.0 (no spares) until it can be trusted.

    That is before :data:`SPARES_AFTER` finished samples, and in a job served mostly from the
    call cache (a rerun): its samples do not wait on the endpoint, so it has no tail to cut, and
    its spares would make calls the first run never made.
    """
    finished = accepted + rejected
    if finished < SPARES_AFTER or served.calls <= served.cache_hits:
        return 1.0
    return accepted / finished


class Seats:
    """The job's ``n`` places for accepted samples; taking the last cancels the spares still running.

    The accept node takes a seat (:meth:`take`, synchronous, so two samples finishing together
    cannot both take the n-th). A seated sample is never cancelled. A spare's task that only this
    class cancelled asks :meth:`cancelled_as_spare`, which withdraws the cancellation so the spare
    can be recorded as rejected :data:`SURPLUS`; the job's own cancellation still propagates.
    """

    def __init__(self, n: int, taken: Iterable[str] = ()) -> None:
        """Start with the seats ``taken`` (a resumed job's accepted samples)."""
        self.n = n
        self._seated: set[str] = set(taken)
        self._running: dict[str, asyncio.Task[Any]] = {}
        self._cancelled: set[str] = set()

    def running(self, sample_id: str, task: asyncio.Task[Any]) -> None:
        """Note the task that runs a sample, so it can be cancelled as a spare."""
        self._running[sample_id] = task

    def ended(self, sample_id: str) -> None:
        """Forget a sample's task."""
        self._running.pop(sample_id, None)

    def take(self, sample_id: str) -> bool:
        """Seat a sample while fewer than n are; at the n-th, cancel every unseated sample still running."""
        if len(self._seated) >= self.n:
            return False
        self._seated.add(sample_id)
        if len(self._seated) == self.n:
            for other, task in self._running.items():
                if other not in self._seated and not task.done():
                    self._cancelled.add(other)
                    task.cancel()
        return True

    def cancelled_as_spare(self, sample_id: str) -> bool:
        """In a sample's task after CancelledError: True, withdrawing it, if only a seat cancelled the task."""
        task = asyncio.current_task()
        if sample_id not in self._cancelled or task is None or task.cancelling() != 1:
            return False
        task.uncancel()
        return True
