"""Run an iterator in a worker thread a few items ahead, so parsing overlaps converting.

Arrow's readers and writers release the GIL, so reading block N+1 while block N is converted
uses the second core. ``depth`` bounds how many items wait (and so the memory they hold).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

T = TypeVar("T")
_POLL_S = 0.1


class _End:
    """Marks the end of the items (or carries the worker's exception)."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


def prefetch(items: Iterator[T], depth: int = 2) -> Iterator[T]:
    """Yield ``items`` in order, produced by a worker thread at most ``depth`` items ahead.

    An exception in the worker is raised here; closing this generator early stops the worker.
    """
    waiting: queue.Queue[T | _End] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: T | _End) -> bool:
        while not stop.is_set():
            try:
                waiting.put(item, timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for item in items:
                if not put(item):
                    return
        except BaseException as error:  # handed to the consumer
            put(_End(error))
            return
        put(_End())

    worker = threading.Thread(target=work, name="prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item = waiting.get()
            if isinstance(item, _End):
                if item.error is not None:
                    raise item.error
                return
            yield item
    finally:
        stop.set()
        worker.join()
