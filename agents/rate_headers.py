"""Read what a provider says about its limits: ``Retry-After`` and the ``x-ratelimit-*`` headers.

OpenAI (and DeepSeek, GLM, vLLM behind a gateway, Azure) send, on every answer,
``x-ratelimit-limit-requests`` / ``-tokens``, ``x-ratelimit-remaining-requests`` / ``-tokens`` and
``x-ratelimit-reset-requests`` / ``-tokens``; the reset is a duration such as ``1s``, ``6m0s`` or
``20ms`` ("time until the limit is back at its full value"). A refused call (429, 503) may carry
``Retry-After`` (seconds or an HTTP date) or ``retry-after-ms``. Every parser here returns None
for a missing or unreadable value, never raises: a provider's odd header must not fail a call.
"""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass

MAX_WAIT_S = 120.0  # the openai client ignores longer Retry-After values too
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNIT_S = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def parse_duration(value: str | None) -> float | None:
    """Seconds in ``"1s"``, ``"6m0s"``, ``"20ms"``, ``"1h2m3.5s"`` or a plain number; None if unreadable."""
    if value is None:
        return None
    text = value.strip().lower()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    parts = _DURATION_PART.findall(text)
    if not parts or "".join(number + unit for number, unit in parts) != text:
        return None
    return sum(float(number) * _UNIT_S[unit] for number, unit in parts)


def retry_after_s(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """The wait a refused call asks for (``retry-after-ms``, then ``Retry-After``), capped at 120 s."""
    wait: float | None = None
    milliseconds = headers.get("retry-after-ms")
    if milliseconds is not None:
        try:
            wait = float(milliseconds) / 1000.0
        except ValueError:
            wait = None
    raw = headers.get("retry-after")
    if wait is None and raw is not None:
        wait = parse_duration(raw)
        if wait is None:  # an HTTP date
            parsed = email.utils.parsedate_tz(raw)
            if parsed is not None:
                wait = email.utils.mktime_tz(parsed) - (time.time() if now is None else now)
    if wait is None:
        return None
    return min(max(0.0, wait), MAX_WAIT_S)


def _int(value: str | None) -> int | None:
    try:
        return int(float(value)) if value is not None else None
    except ValueError:
        return None


@dataclass(frozen=True)
class LimitState:
    """One dimension (requests or tokens) of a provider's rate limit, as one answer reported it."""

    limit: int | None
    remaining: int
    reset_s: float | None

    def wait_for(self, amount: int) -> float:
        """Seconds until ``amount`` more are allowed (0 when there is room now).

        The reset is the time until the limit is full again, so one unit comes back every
        ``reset / (limit - remaining)`` seconds on average.
        """
        if self.remaining >= amount:
            return 0.0
        if self.reset_s is None:
            return 1.0  # exhausted with no hint: try again in a second
        used = (self.limit - self.remaining) if self.limit else 0
        if used <= 0:
            return min(self.reset_s, MAX_WAIT_S)
        return min(self.reset_s * (amount - self.remaining) / used, self.reset_s, MAX_WAIT_S)


def limit_state(headers: Mapping[str, str], kind: str) -> LimitState | None:
    """The ``requests`` or ``tokens`` limit an answer reports, or None when it reports none."""
    remaining = _int(headers.get(f"x-ratelimit-remaining-{kind}"))
    if remaining is None:
        return None
    limit = _int(headers.get(f"x-ratelimit-limit-{kind}"))
    reset = parse_duration(headers.get(f"x-ratelimit-reset-{kind}"))
    return LimitState(limit=limit, remaining=remaining, reset_s=reset)
