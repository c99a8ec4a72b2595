"""Per-user and per-channel bounds on chat jobs: how many run at once, and how many samples.

:class:`ChatAdmission` takes a chat job's places through the job service's atomic admission
(``service.jobs.admission.Admission``, the job manager's own, beside its concurrent-jobs pool):
four pools per request (the user's jobs and samples, the chat's jobs and samples) are checked
and taken in one step under one lock, or none is, so two requests arriving together can never
both take the last place, whichever thread or task asks. The data directory has one owning
process, so the pools are the whole truth. After a restart the runtime re-admits the jobs it
resumes following (:meth:`ChatAdmission.adopt`: over the bounds if need be).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from service.chatops.errors import ChatOpsError
from service.jobs.admission import Admission, Claim, Ticket
from service.jobs.errors import LimitExceededError


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


# What a refused user reads, per pool kind ({held}, {limit}, {left}: Admission fills them in).
REFUSALS = {
    "user-jobs": "you already have {held} jobs running (the limit is {limit}).",
    "channel-jobs": "this channel has {held} jobs running (the limit is {limit}).",
    "user-n": "you have {held} samples in running jobs and the limit is {limit}: "
    "ask for at most {left}, or wait for a job to end.",
    "channel-n": "this channel has {held} samples in running jobs and the limit is {limit}: "
    "ask for at most {left}, or wait for a job to end.",
}


class ChatAdmission:
    """Admit chat jobs within the bounds; release them when their follower ends."""

    def __init__(self, bounds: Bounds, admission: Admission | None = None) -> None:
        """Start with no job running.

        Args:
            bounds: The per-user and per-channel bounds.
            admission: The job manager's admission (the pools live beside its job slots); a new one if None.
        """
        self.bounds = bounds
        self.admission = admission or Admission()
        self._tickets: dict[str, Ticket] = {}
        self._numbers = itertools.count(1)

    def claims(self, seat: Seat) -> dict[str, Claim]:
        """Return the four pools a seat takes from (the order the refusals are checked in)."""
        b = self.bounds
        return {
            f"chat:user-jobs:{seat.user_key}": Claim(1, b.max_jobs_per_user),
            f"chat:channel-jobs:{seat.channel_key}": Claim(1, b.max_jobs_per_channel),
            f"chat:user-n:{seat.user_key}": Claim(seat.n, b.max_n_per_user),
            f"chat:channel-n:{seat.channel_key}": Claim(seat.n, b.max_n_per_channel),
        }

    def reserve(self, seat: Seat) -> str:
        """Check the bounds and take a place for a job about to start; return the reservation's key.

        Raises:
            ChatOpsError: The user or the channel is at a bound; the message says what to do.
        """
        claims = self.claims(seat)
        refusals = {pool: REFUSALS[pool.split(":")[1]] for pool in claims}
        try:
            ticket = self.admission.acquire(claims, refusals=refusals)
        except LimitExceededError as exc:
            raise ChatOpsError(str(exc)) from None
        key = f"reserved:{next(self._numbers)}"
        self._tickets[key] = ticket
        return key

    def confirm(self, reservation: str, job_id: str) -> None:
        """Turn a reservation into the running job it started."""
        self._tickets[job_id] = self._tickets.pop(reservation)

    def adopt(self, job_id: str, seat: Seat) -> None:
        """Count a job that is already running (resumed after a restart), bounds or not."""
        self.release(job_id)
        self._tickets[job_id] = self.admission.acquire(self.claims(seat), force=True)

    def release(self, key: str) -> None:
        """Stop counting a job (or drop a reservation whose job did not start)."""
        ticket = self._tickets.pop(key, None)
        if ticket is not None:
            ticket.release()

    @property
    def running(self) -> int:
        """Return how many chat jobs are counted (reservations included)."""
        return len(self._tickets)
