"""The CLI's error for bad input: one ``error:`` line and exit code 2 (``main`` prints it, no traceback)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class CommandError(Exception):
    """Bad input or state, shown as one line with exit code 2."""

    code = 2


@contextmanager
def one_line(*kinds: type[Exception]) -> Iterator[None]:
    """Turn the given (machine-coded) errors into a :class:`CommandError` with the same message."""
    try:
        yield
    except kinds as error:
        raise CommandError(str(error)) from None
