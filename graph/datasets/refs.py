"""Data set names, tags and references: ``name``, ``name@3``, ``name@v1.1``, ``name@latest``.

Names become folder names, so they are checked strictly: lowercase ASCII letters, digits, ``.``,
``_`` and ``-``, starting with a letter or digit, at most 64 characters, never ``..``. A tag starts
with a letter (so ``@3`` is always a number) and is unique within its data set.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from graph.datasets.errors import InvalidNameError

NAME_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"
TAG_PATTERN = r"^[A-Za-z][A-Za-z0-9._-]{0,31}$"
LATEST = "latest"
_NAME = re.compile(NAME_PATTERN)
_TAG = re.compile(TAG_PATTERN)


def check_name(name: str) -> str:
    """Return ``name`` if it is a valid data set name.

    Raises:
        InvalidNameError: The name could escape the store or is not portable; says what is allowed.
    """
    if not _NAME.match(name) or ".." in name:
        raise InvalidNameError(
            f"invalid data set name {name!r}: use 1-64 lowercase letters, digits, '.', '_' or '-', "
            "starting with a letter or digit (e.g. bank-logs)"
        )
    return name


def check_tag(tag: str) -> str:
    """Return ``tag`` if it is a valid version tag such as ``v1.1``.

    Raises:
        InvalidNameError: The tag is malformed, or is the reserved word ``latest``.
    """
    if not _TAG.match(tag) or tag == LATEST:
        raise InvalidNameError(
            f"invalid tag {tag!r}: use 1-32 letters, digits, '.', '_' or '-', starting with a letter "
            "(e.g. v1.1); 'latest' is reserved"
        )
    return tag


@dataclass(frozen=True)
class Ref:
    """A parsed reference: a data set name and a version selector (number, tag or latest)."""

    name: str
    number: int | None = None
    tag: str | None = None

    @property
    def is_latest(self) -> bool:
        """Whether the reference names no particular version."""
        return self.number is None and self.tag is None

    def __str__(self) -> str:
        if self.number is not None:
            return f"{self.name}@{self.number}"
        return f"{self.name}@{self.tag}" if self.tag else self.name


def parse_ref(text: str) -> Ref:
    """Parse ``name``, ``name@3``, ``name@v1.1`` or ``name@latest``.

    Raises:
        InvalidNameError: The name or the selector is malformed.
    """
    name, _, selector = text.strip().partition("@")
    check_name(name)
    if not selector or selector == LATEST:
        return Ref(name)
    if selector.isdigit():
        number = int(selector)
        if number < 1:
            raise InvalidNameError(f"invalid version {text!r}: versions are numbered from 1")
        return Ref(name, number=number)
    return Ref(name, tag=check_tag(selector))


def version_ref(name: str, number: int) -> str:
    """Return the canonical reference of one version, ``name@number``."""
    return f"{name}@{number}"
