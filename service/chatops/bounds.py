"""Per-user and per-channel bounds on chat jobs: how many run at once, and how many samples.

:class:`ChatAdmission` is the tally of chat jobs being followed in this process. Checking a
request and reserving its place happen with no ``await`` in between (the event loop is the
lock), so two requests arriving together can never both take the last place; the data
directory has one owning process, so the tally is the whole truth. After a restart the runtime
re-admits the jobs it resumes following (:meth:`ChatAdmission.adopt`).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from service.chatops.errors import ChatOpsError


@dataclass(frozen=True)
class Bounds:
    """Per-user and per-channel bounds on samples (n summed over running jobs) and running jobs."""

    max_n_per_user: int = 1000
    max_n_per_channel: int = 2000
    max_jobs_per_user: int = 2
    max_jobs_per_channel: int = 4


@dataclass(frozen=True)
class Seat:
    """One running chat job, as the bounds count it."""

    user_key: str
    channel_key: str
    n: int


class ChatAdmission:
    """Admit chat jobs within the bounds; release them when their follower ends."""

    def __init__(self, bounds: Bounds) -> None:
        """Start with no job running."""
        self.bounds = bounds
        self._seats: dict[str, Seat] = {}
        self._tickets = itertools.count(1)

    def reserve(self, seat: Seat) -> str:
        """Check the bounds and take a place for a job about to start; return the reservation's key.

        Raises:
            ChatOpsError: The user or the channel is at a bound; the message says what to do.
        """
        self._check(seat)
        key = f"reserved:{next(self._tickets)}"
        self._seats[key] = seat
        return key

    def confirm(self, reservation: str, job_id: str) -> None:
        """Turn a reservation into the running job it started."""
        self._seats[job_id] = self._seats.pop(reservation)

    def adopt(self, job_id: str, seat: Seat) -> None:
        """Count a job that is already running (resumed after a restart), bounds or not."""
        self._seats[job_id] = seat

    def release(self, key: str) -> None:
        """Stop counting a job (or drop a reservation whose job did not start)."""
        self._seats.pop(key, None)

    @property
    def running(self) -> int:
        """Return how many chat jobs are counted (reservations included)."""
        return len(self._seats)

    def _check(self, seat: Seat) -> None:
        b = self.bounds
        mine = [s for s in self._seats.values() if s.user_key == seat.user_key]
        here = [s for s in self._seats.values() if s.channel_key == seat.channel_key]
        if len(mine) >= b.max_jobs_per_user:
            raise ChatOpsError(f"you already have {len(mine)} jobs running (the limit is {b.max_jobs_per_user}).")
        if len(here) >= b.max_jobs_per_channel:
            raise ChatOpsError(f"this channel has {len(here)} jobs running (the limit is {b.max_jobs_per_channel}).")
        checks = (("you have", mine, b.max_n_per_user), ("this channel has", here, b.max_n_per_channel))
        for who, seats, limit in checks:
            busy = sum(s.n for s in seats)
            if busy + seat.n > limit:
                raise ChatOpsError(
                    f"{who} {busy} samples in running jobs and the limit is {limit}: "
                    f"ask for at most {max(limit - busy, 0)}, or wait for a job to end."
                )
