"""Atomic admission: check every limit and take the slots in one step, or take none.

Check-then-act across an ``await`` lets ten simultaneous requests all see "3 running, limit 4"
and all start. :meth:`Admission.acquire` checks and reserves under one lock, with no ``await``
in between, so at most ``limit`` holders exist at any moment, whichever thread or task asks.
A request may need several slots at once (one job of the server, one of the user's, n samples
of the channel's): all of them are taken, or none is and the first full one is named.

Usage::

    admission = Admission()
    ticket = admission.acquire(
        {"jobs": Claim(1, 4)}, refusals={"jobs": "{held} jobs are running (max {limit}); wait for one to end"}
    )
    try:
        ...                      # start the work
    except BaseException:
        ticket.release()         # the work never started
        raise
    # later, when the work ends:  ticket.release()   (idempotent)
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

from service.jobs.errors import LimitExceededError

DEFAULT_RETRY_AFTER_S = 5


@dataclass(frozen=True)
class Claim:
    """``amount`` units of a pool that holds at most ``limit`` units."""

    amount: int
    limit: int


@dataclass(eq=False)
class Ticket:
    """Slots held by one admitted request; :meth:`release` gives them back (once)."""

    admission: Admission
    amounts: dict[str, int]
    released: bool = field(default=False)

    def release(self) -> None:
        """Give the slots back; later calls do nothing."""
        self.admission._release(self)


class Admission:
    """Named pools of slots with atomic, all-or-nothing acquisition (thread- and task-safe)."""

    def __init__(self) -> None:
        """Start with every pool empty."""
        self._held: Counter[str] = Counter()
        self._lock = threading.Lock()

    def held(self, pool: str) -> int:
        """Return how many units of a pool are held now."""
        with self._lock:
            return self._held[pool]

    def acquire(
        self,
        claims: Mapping[str, Claim],
        *,
        refusals: Mapping[str, str] | None = None,
        force: bool = False,
        retry_after_s: int = DEFAULT_RETRY_AFTER_S,
    ) -> Ticket:
        """Take every claim, or none.

        Args:
            claims: Pool name -> what to take from it and the pool's limit.
            refusals: Pool name -> the refusal's message, a template with ``{held}``, ``{limit}``
                and ``{left}`` (what may still be asked for); a generic message otherwise.
            force: Take the slots even over the limit (work resumed at start-up must run).
            retry_after_s: The wait suggested to a refused caller.

        Raises:
            LimitExceededError: A pool would go over its limit: the first such pool's refusal,
                with ``retry_after_s`` set on the error.
        """
        with self._lock:
            if not force:
                for pool, claim in claims.items():
                    held = self._held[pool]
                    if held + claim.amount > claim.limit:
                        template = (refusals or {}).get(pool, "{pool}: {held} held, the limit is {limit}")
                        left = max(claim.limit - held, 0)
                        error = LimitExceededError(template.format(pool=pool, held=held, limit=claim.limit, left=left))
                        error.retry_after_s = retry_after_s
                        raise error
            for pool, claim in claims.items():
                self._held[pool] += claim.amount
        return Ticket(self, {pool: claim.amount for pool, claim in claims.items()})

    def _release(self, ticket: Ticket) -> None:
        with self._lock:
            if ticket.released:
                return
            ticket.released = True
            for pool, amount in ticket.amounts.items():
                self._held[pool] -= amount
                if self._held[pool] <= 0:
                    del self._held[pool]
