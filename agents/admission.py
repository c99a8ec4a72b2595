"""Admission of LLM calls to one endpoint: AIMD concurrency, provider pauses, RPM/TPM buckets.

Every call of every role on an endpoint asks :class:`Admission` for a ticket before it is sent:

- **Concurrency (AIMD)**: at most ``limit`` calls in flight. The limit starts at the ceiling (the
  user's ``max_concurrency``, or no cap: the jobs' own concurrency then decides), halves on a
  burst of 429/503 answers (once per burst: a refusal of a call admitted before the last halving
  does not halve again) and grows back by one for every two ``limit``s of successful calls
  (AIMD like TCP, growing half as fast: against a provider that sends no limit headers this
  measured 4 % of calls refused instead of 8 %).
- **Provider pauses**: ``Retry-After`` on a refusal, and ``x-ratelimit-remaining-*`` at zero on
  any answer, stop new admissions until the provider says there is room again.
- **RPM / TPM**: optional token buckets (the provider's published limits), the token bucket
  charged with each call's estimated prompt + expected completion tokens and corrected from the
  reported usage afterwards. When the user sets none and the provider reports
  ``x-ratelimit-limit-*``, buckets of that size per minute are learnt from the headers (as
  Curator does), kept no fuller than the provider says.

Retries stay the openai client's own; this class only observes every HTTP answer (including the
retried ones) through an httpx event hook, see :mod:`agents.llm`. Thread-safe; a waiting call is
woken on its own event loop when a call ends.
"""

from __future__ import annotations

import asyncio
import contextvars
import math
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from pydantic import BaseModel

from agents.rate_headers import limit_state, retry_after_s

NO_CAP = 4096  # "unbounded": the jobs' concurrency is the only bound
OVERLOAD_STATUSES = frozenset({429, 503, 529})
BURST_S = 5.0  # a bucket holds this many seconds' worth of its per-minute rate
WAKE_EVERY_S = 1.0  # waiters re-check at least this often (a release on another loop cannot notify them)
GROWTH_WINDOWS = 2  # the limit grows by one after this many limits of successful calls

Clock = Callable[[], float]


def estimate_tokens(text: str) -> int:
    """Estimate a text's tokens offline: one per CJK character, one per 4 other characters.

    (tiktoken downloads its encodings on first use, which fails here; usage corrects the estimate.)
    """
    wide = sum(1 for char in text if ord(char) >= 0x2E80)
    return wide + (len(text) - wide + 3) // 4


class TokenBucket:
    """A bucket of ``per_minute`` units a minute, holding at most :data:`BURST_S` seconds' worth.

    Its level may go below zero (a call used more than estimated): later takers wait the debt off.
    """

    def __init__(self, per_minute: float, clock: Clock, *, learned: bool = False) -> None:
        """Start full."""
        if per_minute <= 0:
            raise ValueError(f"a rate must be positive, got {per_minute}")
        self.per_minute, self.learned, self._clock = per_minute, learned, clock
        self.capacity = max(1.0, per_minute / 60.0 * BURST_S)
        self.level = self.capacity
        self._updated = clock()

    def _refill(self) -> None:
        now = self._clock()
        self.level = min(self.capacity, self.level + (now - self._updated) * self.per_minute / 60.0)
        self._updated = now

    def wait_for(self, amount: float) -> float:
        """Seconds until ``amount`` (at most the capacity) can be taken; 0 when it can be now."""
        self._refill()
        missing = min(amount, self.capacity) - self.level
        return 0.0 if missing <= 0 else missing * 60.0 / self.per_minute

    def take(self, amount: float) -> None:
        """Take ``amount`` (call after ``wait_for`` returned 0)."""
        self._refill()
        self.level -= min(amount, self.capacity)

    def adjust(self, amount: float) -> None:
        """Take ``amount`` more (negative: give back), e.g. actual usage minus the estimate."""
        self._refill()
        self.level = min(self.capacity, self.level - amount)

    def cap(self, remaining: float) -> None:
        """Hold no more than the provider says remains."""
        self._refill()
        self.level = min(self.level, remaining)


@dataclass
class Ticket:
    """One admitted call: when it was admitted, what it was charged, how many attempts it sent."""

    epoch: int
    tokens: int
    attempts: int = 0
    sending: bool = False  # an attempt of it is on the wire (sent, no answer yet)


current_ticket: contextvars.ContextVar[Ticket | None] = contextvars.ContextVar("dialogforge_ticket", default=None)


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _wake_all(waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]]) -> None:
    """Wake each waiting call on its own event loop."""
    for loop, future in waiters:
        if not loop.is_closed():
            loop.call_soon_threadsafe(_wake, future)


class AdmissionStats(BaseModel):
    """What the admission of an endpoint looks like now (progress events, metrics, summaries)."""

    limit: int
    ceiling: int | None
    in_flight: int
    throttled: int
    rpm: float | None = None
    tpm: float | None = None


class Admission:
    """Decide when each LLM call to one endpoint may start (see the module docstring)."""

    def __init__(
        self,
        ceiling: int | None = None,
        *,
        rpm: float | None = None,
        tpm: float | None = None,
        learn_limits: bool = True,
        clock: Clock = time.monotonic,
    ) -> None:
        """Start with ``ceiling`` calls allowed in flight (None: no cap)."""
        if ceiling is not None and ceiling < 1:
            raise ValueError(f"max_concurrency must be at least 1, got {ceiling}")
        self.ceiling = ceiling
        self.limit = float(ceiling or NO_CAP)
        self.in_flight = 0
        self._sending = 0  # attempts on the wire (retries included)
        self.throttled = 0
        self.learn_limits = learn_limits
        self.requests = TokenBucket(rpm, clock) if rpm else None
        self.tokens = TokenBucket(tpm, clock) if tpm else None
        self.expected_output = 200.0  # running mean of completion tokens, for estimates
        self._clock = clock
        self._epoch = 0
        self._successes = 0
        self._paused_until = 0.0
        self._lock = threading.Lock()
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []

    # --------------------------------------------------------------- admit

    def _rate_wait_locked(self, tokens: int) -> float:
        """Seconds until the pause ends and the buckets hold a request and ``tokens``."""
        now = self._clock()
        waits = [self._paused_until - now]
        if self.requests is not None:
            waits.append(self.requests.wait_for(1))
        if self.tokens is not None:
            waits.append(self.tokens.wait_for(tokens))
        return max(waits)

    def _take_locked(self, tokens: int) -> None:
        if self.requests is not None:
            self.requests.take(1)
        if self.tokens is not None:
            self.tokens.take(tokens)

    def _try_admit(self, tokens: int, waiter: asyncio.Future[None] | None = None) -> Ticket | float:
        """Admit now (a ticket) or say how long to wait (``inf``: until a call ends).

        When the call cannot start, ``waiter`` is registered under the same lock, so a call
        ending in between cannot be missed.
        """
        with self._lock:
            delay = self._rate_wait_locked(tokens)
            if delay <= 0 and self.in_flight < max(1, int(self.limit)):
                self.in_flight += 1
                self._take_locked(tokens)
                return Ticket(epoch=self._epoch, tokens=tokens)
            if waiter is not None:
                self._waiters.append((waiter.get_loop(), waiter))
            return delay if delay > 0 else math.inf

    async def acquire(self, tokens: int = 0) -> Ticket:
        """Wait until a call estimated at ``tokens`` may start; the caller must :meth:`release` it."""
        loop = asyncio.get_running_loop()
        while True:
            waiter: asyncio.Future[None] = loop.create_future()
            outcome = self._try_admit(tokens, waiter)
            if isinstance(outcome, Ticket):
                return outcome
            try:
                await asyncio.wait({waiter}, timeout=min(outcome, WAKE_EVERY_S))
            finally:
                with self._lock:
                    self._waiters = [(lp, fut) for lp, fut in self._waiters if fut is not waiter]

    async def before_attempt(self, ticket: Ticket | None) -> None:
        """Hold a retry (the client's own, after a 429) until the pause, the buckets and the limit allow it.

        The first attempt was admitted with its ticket. A retry takes a request from the buckets
        again and waits until fewer than ``limit`` attempts are on the wire (after a halving the
        calls still holding their slots retry a few at a time), plus, after waiting out a pause, a
        random part of that wait: a herd of refused calls does not come back all at once. An
        attempt that got no answer (a timeout, a dropped connection: no response hook ran) is
        counted off the wire first, or a retry would wait for its own slot forever.
        """
        if ticket is None:
            return
        ticket.attempts += 1
        with self._lock:  # a previous attempt still "on the wire" ended with no answer (timeout, reset)
            self._answered_locked(ticket)
        waited = 0.0
        while ticket.attempts > 1:
            with self._lock:
                delay = self._rate_wait_locked(0)
                if delay <= 0 and self._sending < max(1, int(self.limit)):
                    self._take_locked(0)
                    break
            step = min(delay, WAKE_EVERY_S) if delay > 0 else 0.05
            await asyncio.sleep(step)
            waited += step
        if waited:
            await asyncio.sleep(random.uniform(0.0, waited))
        with self._lock:
            if not ticket.sending:
                ticket.sending = True
                self._sending += 1

    def _answered_locked(self, ticket: Ticket | None) -> None:
        """Count an attempt of ``ticket`` off the wire (answered, failed or abandoned)."""
        if ticket is not None and ticket.sending:
            ticket.sending = False
            self._sending -= 1

    def acquire_blocking(self, tokens: int = 0) -> Ticket:
        """Wait (in a thread) until a call may start."""
        while True:
            outcome = self._try_admit(tokens)
            if isinstance(outcome, Ticket):
                return outcome
            time.sleep(min(outcome, 0.05))

    def release(self, ticket: Ticket, used_tokens: int | None = None) -> None:
        """End a call, correct the token bucket from the reported usage and wake the waiters.

        Synchronous and safe from any thread or event loop (waiters are woken on their own loop),
        so it can run in a ``finally`` of a cancelled call.
        """
        with self._lock:
            self.in_flight = max(0, self.in_flight - 1)
            self._answered_locked(ticket)
            if used_tokens is not None and self.tokens is not None:
                self.tokens.adjust(used_tokens - ticket.tokens)
            waiters, self._waiters = self._waiters, []
        _wake_all(waiters)

    def note_output(self, output_tokens: int) -> None:
        """Fold one call's completion tokens into the running mean used for estimates."""
        with self._lock:
            self.expected_output += 0.1 * (output_tokens - self.expected_output)

    # ------------------------------------------------------------- observe

    def observe(self, status: int, headers: Mapping[str, str], ticket: Ticket | None) -> None:
        """Learn from one HTTP answer (every attempt, retries included)."""
        waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = []
        with self._lock:
            self._answered_locked(ticket)
            now = self._clock()
            if status in OVERLOAD_STATUSES:
                self.throttled += 1
                if ticket is None or ticket.epoch == self._epoch:  # once per burst
                    self.limit = max(1.0, float(min(int(self.limit), max(self.in_flight, 1)) // 2))
                    self._epoch += 1
                    self._successes = 0
                wait = retry_after_s(headers)
                if wait:
                    self._paused_until = max(self._paused_until, now + wait)
            elif 200 <= status < 300:
                self._successes += 1
                if self._successes >= GROWTH_WINDOWS * self.limit:
                    self.limit = min(float(self.ceiling or NO_CAP), self.limit + 1)
                    self._successes = 0
                    waiters, self._waiters = self._waiters, []
            self._follow_headers(headers, now)
        _wake_all(waiters)

    def _follow_headers(self, headers: Mapping[str, str], now: float) -> None:
        """Pause when the provider reports a limit used up; learn buckets of the limits it reports."""
        for kind, need in (("requests", 1.0), ("tokens", self.expected_output)):
            state = limit_state(headers, kind)
            if state is None:
                continue
            wait = state.wait_for(int(need))
            if wait > 0:
                self._paused_until = max(self._paused_until, now + wait)
            bucket = self.requests if kind == "requests" else self.tokens
            if bucket is None and self.learn_limits and state.limit:
                bucket = TokenBucket(state.limit, self._clock, learned=True)
                if kind == "requests":
                    self.requests = bucket
                else:
                    self.tokens = bucket
            if bucket is not None and bucket.learned:
                bucket.cap(state.remaining)

    def stats(self) -> AdmissionStats:
        """Return a snapshot of the limit, the calls in flight and the refusals seen."""
        with self._lock:
            return AdmissionStats(
                limit=max(1, int(self.limit)),
                ceiling=self.ceiling,
                in_flight=self.in_flight,
                throttled=self.throttled,
                rpm=self.requests.per_minute if self.requests else None,
                tpm=self.tokens.per_minute if self.tokens else None,
            )
