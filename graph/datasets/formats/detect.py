"""Choose the format of an input: named by ``--format``, ``--map`` or ``--chat-log``, else detected.

Detection looks at the first rows' keys: a ``conversations`` or ``messages`` list (ShareGPT when
its items use ``from``/``value``, OpenAI when ``role``/``content``), or ``instruction`` with
``output`` (Alpaca). It says what it found; when the rows fit several formats, or none, it
refuses and says which option settles it.
"""

from __future__ import annotations

from typing import Any

from graph.datasets.errors import FormatError
from graph.datasets.formats.alpaca import AlpacaFormat
from graph.datasets.formats.base import Format
from graph.datasets.formats.chatlog import ChatLogFormat
from graph.datasets.formats.messages import MessagesFormat
from graph.datasets.formats.pairs import PairsFormat
from graph.datasets.readers.base import Reader

FORMAT_NAMES = ("sharegpt", "openai", "alpaca")
_LISTS = ("conversations", "messages")
_KEYS = {"sharegpt": ("from", "value"), "openai": ("role", "content")}
_HINT = (
    "choose with --format sharegpt|openai|alpaca, map columns with --map user=COL,assistant=COL, "
    "or group a chat log with --chat-log speaker=COL,text=COL,..."
)


def _message_keys(rows: list[dict[str, Any]], column: str) -> str | None:
    """Return ``sharegpt`` or ``openai`` from the keys of the first message found in ``column``."""
    for row in rows:
        for message in row.get(column) or []:
            if isinstance(message, dict):
                for name, (role, content) in _KEYS.items():
                    if role in message and content in message:
                        return name
    return None


def _messages(name: str, column: str) -> MessagesFormat:
    role, content = _KEYS[name]
    return MessagesFormat(name, column, role, content)


def describe(fmt: Format) -> str:
    """Return a short description of a format, for 'detected: ...' lines."""
    if isinstance(fmt, MessagesFormat):
        return f"{fmt.name} ({fmt.column} of {fmt.role_key}/{fmt.content_key})"
    if isinstance(fmt, ChatLogFormat):
        side = f"me={fmt.me}" if fmt.me else f"assistant={fmt.assistant!r}"
        group = ", ".join(
            part
            for part in (
                fmt.conversation and f"conversation={fmt.conversation}",
                fmt.time and f"time={fmt.time}, gap {fmt.gap_s:g} s",
            )
            if part
        )
        return f"chat log (speaker={fmt.speaker}, text={fmt.text}, {side}, {group})"
    if isinstance(fmt, PairsFormat):
        system = f", system={fmt.system}" if fmt.system else ""
        return f"pairs (user={fmt.user}, assistant={fmt.assistant}{system})"
    return fmt.name


def choose_format(
    reader: Reader,
    name: str | None = None,
    mapping: dict[str, str] | None = None,
    chat_log: dict[str, str] | None = None,
) -> Format:
    """Return the format to read ``reader``'s rows with.

    Args:
        reader: The input.
        name: ``--format`` (sharegpt, openai, alpaca), or None to detect.
        mapping: ``--map`` columns (``user``, ``assistant``, optional ``system``).
        chat_log: ``--chat-log`` keys (see ``formats.chatlog``).

    Raises:
        FormatError: The name is unknown, a mapped column is missing, or the rows are ambiguous
            or match no format; the message says which option to give.
    """
    if mapping is not None and chat_log is not None:
        raise FormatError("give either --map (one exchange a row) or --chat-log (one message a row), not both")
    if mapping is not None:
        return _pairs(reader, mapping)
    if chat_log is not None:
        log = ChatLogFormat.from_mapping(chat_log)
        _require(reader, log.columns())
        return log
    rows = reader.peek(50)
    if not rows:
        raise FormatError(f"{reader.name}: no rows to import")
    keys = {key for row in rows for key in row}
    if name is not None:
        return _named(reader, name, rows, keys)
    found: list[Format] = []
    for column in _LISTS:
        if column in keys:
            tags = _message_keys(rows, column)
            if tags:
                found.append(_messages(tags, column))
    if {"instruction", "output"} <= keys:
        found.append(AlpacaFormat())
    if len(found) == 1:
        return found[0]
    columns = ", ".join(sorted(keys))
    if found:
        options = " and ".join(describe(fmt) for fmt in found)
        raise FormatError(f"{reader.name}: the rows fit {options}; {_HINT}")
    raise FormatError(f"{reader.name}: cannot tell the format (columns: {columns}); {_HINT}")


def _named(reader: Reader, name: str, rows: list[dict[str, Any]], keys: set[str]) -> Format:
    if name == "alpaca":
        return AlpacaFormat()
    if name not in _KEYS:
        raise FormatError(f"unknown format {name!r}; use one of {', '.join(FORMAT_NAMES)} (or --map / --chat-log)")
    present = [column for column in _LISTS if column in keys]
    preferred = "conversations" if name == "sharegpt" else "messages"
    column = preferred if preferred in present else (present[0] if present else preferred)
    tags = _message_keys(rows, column) or name  # e.g. ShareGPT-style rows with role/content tags
    return MessagesFormat(name, column, *_KEYS[tags])


def _pairs(reader: Reader, mapping: dict[str, str]) -> PairsFormat:
    unknown = sorted(set(mapping) - {"user", "assistant", "system"})
    if unknown or not {"user", "assistant"} <= set(mapping):
        raise FormatError("--map takes user=COLUMN,assistant=COLUMN and optionally system=COLUMN")
    _require(reader, list(mapping.values()))
    return PairsFormat(mapping["user"], mapping["assistant"], mapping.get("system"))


def _require(reader: Reader, wanted: list[str]) -> None:
    columns = reader.columns()
    missing = [column for column in wanted if column not in columns]
    if missing:
        raise FormatError(
            f"{reader.name}: no column {', '.join(map(repr, missing))}; the columns are {', '.join(columns) or 'none'}"
        )
