"""A bounded time-to-live set: remembers delivery ids so a retried chat delivery runs once."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable


class TTLSet:
    """Remember keys for ``ttl_s`` seconds, at most ``max_size`` of them (oldest forgotten first)."""

    def __init__(
        self, ttl_s: float = 600.0, max_size: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        """Create an empty set.

        Args:
            ttl_s: How long a key is remembered (platforms retry within minutes).
            max_size: The most keys kept at once.
            clock: A monotonic clock (tests pass a fake one).
        """
        if ttl_s <= 0 or max_size < 1:
            raise ValueError("ttl_s must be positive and max_size at least 1")
        self.ttl_s, self.max_size, self.clock = ttl_s, max_size, clock
        self._seen: OrderedDict[str, float] = OrderedDict()

    def _expire(self, now: float) -> None:
        """Drop expired keys, then the oldest ones beyond ``max_size``."""
        while self._seen:
            key, added = next(iter(self._seen.items()))
            if now - added < self.ttl_s and len(self._seen) <= self.max_size:
                break
            del self._seen[key]

    def add(self, key: str) -> bool:
        """Remember a key; return False when it was already remembered (a duplicate)."""
        now = self.clock()
        self._expire(now)
        if key in self._seen:
            return False
        self._seen[key] = now
        self._expire(now)
        return True

    def __contains__(self, key: object) -> bool:
        """Whether a key is remembered and not expired."""
        self._expire(self.clock())
        return key in self._seen

    def __len__(self) -> int:
        """Return how many keys are remembered."""
        return len(self._seen)
