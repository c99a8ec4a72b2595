"""Which sample a call belongs to: its seed and how many calls it made, for the call cache's keys.

The job runner opens a scope around each sample's graph; LangGraph runs the nodes in tasks that
inherit the context, so every LLM call of the sample sees the same :class:`CallScope` and numbers
itself with :meth:`CallScope.next_call`. Two samples never share a key (their seeds differ), a
sample's second identical call is a new call (its number differs), and a rerun with the same job
seed numbers the same calls the same way. Calls made outside any scope are not cached.
"""

from __future__ import annotations

import contextvars
import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class CallScope:
    """The seed of one sample (or brainstorm) and a counter of its calls."""

    seed: int
    _calls: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def next_call(self) -> int:
        """Return the number of this call within the scope (0, 1, 2...)."""
        with self._lock:
            number, self._calls = self._calls, self._calls + 1
            return number


current_scope: contextvars.ContextVar[CallScope | None] = contextvars.ContextVar("dialogforge_scope", default=None)


def derive_seed(*parts: object) -> int:
    """Return a 31-bit seed derived from ``parts`` (e.g. the job seed and a sample number)."""
    digest = hashlib.sha256("\0".join(str(part) for part in parts).encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


@contextmanager
def call_scope(seed: int) -> Iterator[CallScope]:
    """Run the enclosed calls (and the tasks started inside) in a scope of their own."""
    scope = CallScope(seed)
    token = current_scope.set(scope)
    try:
        yield scope
    finally:
        current_scope.reset(token)
