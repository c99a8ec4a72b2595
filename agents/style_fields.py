"""Field types of a style pack, with the rules a new pack must meet and the JSON schema that says them.

- a name or an alias: 1-64 characters, lowercase, starting with a letter or digit, then letters,
  digits, ``_`` or ``-``. Names are ASCII (they name Chroma collections and files); aliases may use
  any script (``温柔``), but only letters, digits and marks: no spaces, dots, slashes or invisible
  characters.
- a marker, a forbidden phrase or a topic: 1-200 characters, not only whitespace (an empty marker
  would match every reply and switch its check off).

The rules run as validators with messages that say what to fix; the JSON schema carries the same
constraints (``pattern``, ``minLength``...) for clients and schemathesis. Packs read back from a
store are validated with :data:`STORED` as context, which skips these rules: a job resumes with
the pack it started with, even one saved before a rule existed.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated

from pydantic import AfterValidator, Field, ValidationInfo

STORED = {"stored": True}
MAX_ALIASES = 16
MAX_KEY_CHARS = 64
MAX_PHRASE_CHARS = 200
NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"
ALIAS_PATTERN = r"^[a-z0-9\u00c0-\uffff][a-z0-9_\u00c0-\uffff-]*$"
_ALIAS = re.compile(ALIAS_PATTERN)


def is_new(info: ValidationInfo) -> bool:
    """Whether the rules for new packs apply (not when reading back a stored pack)."""
    return not (isinstance(info.context, dict) and info.context.get("stored"))


def _phrase_rule(text: str, info: ValidationInfo) -> str:
    if is_new(info):
        if not text.strip():
            raise ValueError("must not be empty or only whitespace")
        if len(text) > MAX_PHRASE_CHARS:
            raise ValueError(f"must be at most {MAX_PHRASE_CHARS} characters, got {len(text)}")
    return text


def _alias_rule(text: str, info: ValidationInfo) -> str:
    if not is_new(info):
        return text
    if not 1 <= len(text) <= MAX_KEY_CHARS:
        raise ValueError(f"must be 1-{MAX_KEY_CHARS} characters, got {len(text)}")
    letters_only = all(ord(char) < 128 or unicodedata.category(char)[0] in "LNM" for char in text)
    if not (_ALIAS.match(text) and letters_only and text == text.lower()):
        raise ValueError(
            f"{text[:40]!r} is not a valid alias: use lowercase letters (any script), digits, '_' and '-', "
            "starting with a letter or digit"
        )
    return text


Phrase = Annotated[
    str,
    Field(json_schema_extra={"minLength": 1, "maxLength": MAX_PHRASE_CHARS, "pattern": r"\S"}),
    AfterValidator(_phrase_rule),
]
StyleName = Annotated[str, Field(pattern=NAME_PATTERN, max_length=MAX_KEY_CHARS)]
StyleAlias = Annotated[
    str,
    Field(
        description="Another name of the pack, in any script (e.g. 温柔).",
        json_schema_extra={"minLength": 1, "maxLength": MAX_KEY_CHARS, "pattern": ALIAS_PATTERN},
    ),
    AfterValidator(_alias_rule),
]
