"""Chat logs: one message a row (speaker, text, time or conversation id), grouped into dialogues.

``--chat-log speaker=NickName,text=StrContent,time=CreateTime,me=IsSender`` (a WeChatMsg export)
or ``speaker=agent,text=body,conversation=ticket,assistant=客服``. The side that plays the
assistant is the rows whose ``me`` column is true, or whose speaker is the ``assistant`` name;
everyone else plays the user. Messages are grouped by conversation id, and split where more than
``gap`` (default 30m; ``90s``, ``2h``) passes between two messages; consecutive messages of one
side are merged with a newline. A dialogue's leading replies and trailing questions cannot be
trained on and are left out, counted in the manifest's ``dropped``; so are empty messages.

Memory is bounded: a dialogue is emitted once its conversation has been quiet for ``gap``
(time-sorted logs), and at most ``MAX_OPEN`` conversations may be open at once.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from graph.datasets.errors import FormatError, RowProblem
from graph.datasets.formats.base import Converted, FieldError, Turns, dialogue_table
from graph.datasets.readers.base import RawBatch

MAX_OPEN = 50_000
MAX_TURNS = 256
DEFAULT_GAP_S = 1800.0
_TRUE = {"1", "true", "yes", "y", "t", "是", "me"}
_FALSE = {"0", "false", "no", "n", "f", "否", ""}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, None: 60}
_KEYS = {"speaker", "text", "time", "conversation", "me", "assistant", "gap"}
_Done = tuple[str, Turns, int, int | None]


def parse_gap(text: str) -> float:
    """Return a duration such as ``30m``, ``90s``, ``2h`` (a bare number is minutes) in seconds."""
    match = _DURATION.match(text)
    if not match or float(match.group(1)) <= 0:
        raise FormatError(f"--chat-log gap={text!r}: write a duration such as 30m, 90s or 2h")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_time(value: Any, where: str) -> float:
    """Return a message time as Unix seconds: numbers (seconds or milliseconds) or ISO 8601 text."""
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str) and value.strip():
        try:
            number = float(value)
        except ValueError:
            try:
                return datetime.fromisoformat(value.strip()).timestamp()
            except ValueError:
                raise FieldError(where, f"cannot read {value!r} as a time; use ISO 8601 or Unix seconds") from None
    else:
        raise FieldError(where, "missing time")
    return number / 1000 if number > 1e11 else number


@dataclass
class _Open:
    """A dialogue being gathered: merged turns, the rows they came from, the last message's time."""

    turns: list[list[str]] = field(default_factory=list)
    first_row: int = 0
    last_row: int = 0
    last_time: float = 0.0
    messages: int = 0


@dataclass
class ChatLogFormat:
    """Group one-message-a-row logs into dialogues."""

    speaker: str
    text: str
    time: str | None = None
    conversation: str | None = None
    me: str | None = None
    assistant: str | None = None
    gap_s: float = DEFAULT_GAP_S
    name: str = "chat-log"
    _open: dict[str, _Open] = field(default_factory=dict)
    _latest: float = 0.0

    @classmethod
    def from_mapping(cls, mapping: dict[str, str]) -> ChatLogFormat:
        """Build the format from ``--chat-log`` pairs.

        Raises:
            FormatError: A key is unknown or a required one is missing.
        """
        unknown = sorted(set(mapping) - _KEYS)
        if unknown:
            raise FormatError(f"--chat-log: unknown key(s) {', '.join(unknown)}; use {', '.join(sorted(_KEYS))}")
        if "speaker" not in mapping or "text" not in mapping:
            raise FormatError("--chat-log needs speaker=COLUMN and text=COLUMN")
        if ("me" in mapping) == ("assistant" in mapping):
            raise FormatError("--chat-log needs exactly one of me=COLUMN (true = the assistant) or assistant=SPEAKER")
        if "time" not in mapping and "conversation" not in mapping:
            raise FormatError("--chat-log needs time=COLUMN (split at gaps) or conversation=COLUMN (or both)")
        gap = parse_gap(mapping["gap"]) if "gap" in mapping else DEFAULT_GAP_S
        return cls(
            speaker=mapping["speaker"], text=mapping["text"], time=mapping.get("time"),
            conversation=mapping.get("conversation"), me=mapping.get("me"), assistant=mapping.get("assistant"),
            gap_s=gap,
        )  # fmt: skip

    def read_schema(self) -> None:
        """Chat logs are read whole."""
        return None

    def columns(self) -> list[str]:
        """Return the columns the mapping names."""
        named = (self.speaker, self.text, self.time, self.conversation, self.me)
        return [column for column in named if column]

    def convert(self, batch: RawBatch) -> Converted:
        """Add a batch's messages to their dialogues; return the dialogues that ended."""
        done: list[_Done] = []
        problems = list(batch.problems)
        dropped: Counter[str] = Counter()
        for index, record in enumerate(batch.all_records()):
            row = batch.rows[index]
            try:
                self._add(record, row, done, dropped)
            except FieldError as error:
                problems.append(RowProblem(batch.file, row, error.field, str(error), record))
        if self.time is not None:
            for key in [k for k, d in self._open.items() if self._latest - d.last_time > self.gap_s]:
                self._emit(self._open.pop(key), done, dropped)
        return Converted(dialogue_table(done), problems, dict(dropped))

    def finish(self) -> Converted:
        """Emit every dialogue still open at the end of the input."""
        done: list[_Done] = []
        dropped: Counter[str] = Counter()
        for dialogue in sorted(self._open.values(), key=lambda d: d.first_row):
            self._emit(dialogue, done, dropped)
        self._open.clear()
        return Converted(dialogue_table(done), [], dict(dropped))

    def _add(self, record: dict[str, Any], row: int, done: list[_Done], dropped: Counter[str]) -> None:
        for column in self.columns():
            if column not in record:
                raise FieldError(column, f"column missing; the row has: {', '.join(map(str, record))}")
        body = record[self.text]
        if not isinstance(body, str) or not body.strip():
            dropped["empty messages left out"] += 1
            return
        role = "assistant" if self._is_assistant(record) else "user"
        when = parse_time(record[self.time], self.time) if self.time else 0.0
        self._latest = max(self._latest, when)
        key = str(record[self.conversation]) if self.conversation else ""
        dialogue = self._open.get(key)
        too_long = dialogue is not None and dialogue.messages >= MAX_TURNS
        if dialogue is not None and ((self.time and when - dialogue.last_time > self.gap_s) or too_long):
            self._emit(self._open.pop(key), done, dropped)
            dialogue = None
        if dialogue is None:
            if len(self._open) >= MAX_OPEN:
                raise FormatError(
                    f"more than {MAX_OPEN} conversations are open at once; sort the log by conversation and time"
                )
            dialogue = self._open[key] = _Open(first_row=row)
        if dialogue.turns and dialogue.turns[-1][0] == role:
            dialogue.turns[-1][1] += "\n" + body
        else:
            dialogue.turns.append([role, body])
        dialogue.last_row, dialogue.last_time, dialogue.messages = (
            row,
            max(when, dialogue.last_time),
            dialogue.messages + 1,
        )

    def _is_assistant(self, record: dict[str, Any]) -> bool:
        if self.assistant is not None:
            return str(record[self.speaker]).strip() == self.assistant
        assert self.me is not None
        value = str(record[self.me]).strip().lower()
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
        raise FieldError(self.me, f"{record[self.me]!r} is not true/false (1/0, yes/no)")

    def _emit(self, dialogue: _Open, done: list[_Done], dropped: Counter[str]) -> None:
        turns = [(role, body) for role, body in dialogue.turns]
        if turns and turns[0][0] == "assistant":
            dropped["leading assistant messages left out"] += 1
            turns = turns[1:]
        if turns and turns[-1][0] == "user":
            dropped["trailing user messages left out"] += 1
            turns = turns[:-1]
        if len(turns) < 2:
            dropped["dialogues without a reply left out"] += 1
            return
        end = dialogue.last_row if dialogue.last_row != dialogue.first_row else None
        done.append(("", turns, dialogue.first_row, end))


__all__ = ["ChatLogFormat", "parse_gap", "parse_time"]
