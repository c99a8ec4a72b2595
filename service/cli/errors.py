"""The command line's own errors (light: imported before any command runs).

Bad input or state is one :class:`UsageError` for every command: ``main`` prints it as one
``error:`` line and exits 2, never a traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from pydantic import ValidationError

# Request fields as the user typed them on the command line.
OPTION_OF = {
    "budget.max_attempts": "--max-attempts",
    "budget.max_tokens": "--max-tokens",
    "budget.deadline_s": "--deadline",
    "max_rewrites": "--max-rewrites",
    "turns": "--turns",
    "workspace": "--workspace",
    "seed": "--seed",
    "concurrency": "--concurrency",
    "n": "-n",
    "into": "--into",
    "knowledge": "--knowledge",
}


class UsageError(ValueError):
    """Bad input or state; the message says what to fix (one line, exit code 2)."""

    code = 2


class JobError(RuntimeError):
    """The job ended without a summary (it failed, or a fault stopped it); exit code 1."""


@contextmanager
def one_line(*kinds: type[Exception]) -> Iterator[None]:
    """Turn the given (machine-coded) errors into a :class:`UsageError` with the same message."""
    try:
        yield
    except kinds as error:
        raise UsageError(str(error)) from None


def describe_invalid(exc: ValidationError) -> str:
    """Return the first problem of a request that failed validation, named by its option."""
    first = exc.errors()[0]
    field = ".".join(str(part) for part in first.get("loc", ()))
    message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
    return f"{OPTION_OF.get(field, field)}: {message}"
