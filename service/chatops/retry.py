"""Retry a chat platform's API call on 429 and 5xx, with exponential backoff and jitter (tenacity).

A platform adapter raises :class:`Retryable` for an answer worth retrying (rate limited, a
server error, a dropped connection), with the wait the platform asked for when it said one
(``Retry-After``, Feishu's ``x-ogw-ratelimit-reset``); any other failure is a
``ChatOutputError`` and is not retried. Bounded: at most ``attempts`` tries, no wait over
``max_wait_s``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from service.chatops.errors import ChatOutputError

T = TypeVar("T")
ATTEMPTS = 4
MAX_WAIT_S = 30.0


class Retryable(ChatOutputError):
    """A failed call worth trying again; ``retry_after`` is the wait the platform asked for, if any."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        """Keep the safe message and the platform's wait."""
        super().__init__(message)
        self.retry_after = retry_after


def _wait(backoff: Callable[[RetryCallState], float], max_wait_s: float) -> Callable[[RetryCallState], float]:
    def wait(state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        asked = error.retry_after if isinstance(error, Retryable) else None
        return min(max_wait_s, asked if asked is not None else backoff(state))

    return wait


async def with_retries(
    call: Callable[[], Awaitable[T]],
    *,
    attempts: int = ATTEMPTS,
    initial_s: float = 0.5,
    max_wait_s: float = MAX_WAIT_S,
) -> T:
    """Await ``call()`` until it succeeds or raises something other than :class:`Retryable`.

    Raises:
        Retryable: Still failing after ``attempts`` tries (a ``ChatOutputError``: safe to show).
        ChatOutputError: The platform refused the call for good.
    """
    retrying = AsyncRetrying(
        stop=stop_after_attempt(attempts),
        wait=_wait(wait_exponential_jitter(initial=initial_s, max=max_wait_s, jitter=initial_s), max_wait_s),
        retry=retry_if_exception_type(Retryable),
        reraise=True,
    )

    async def attempt() -> T:  # tenacity awaits only what it sees is a coroutine function
        return await call()

    result: T = await retrying(attempt)
    return result
