"""Export samples as fine-tuning data sets: Alpaca, ShareGPT, OpenAI messages, or raw JSONL.

The three training formats follow LLaMA-Factory's ``data/README.md`` (and TRL's conversational
format for ``openai``):

- ``alpaca``: ``{"instruction", "input", "output", "system", "history"}``. The last user turn is the
  ``instruction`` (LLaMA-Factory's prompt is ``instruction`` and ``input`` joined by a newline,
  an empty ``input`` skipped), the last assistant turn is the ``output`` and earlier exchanges
  are the ``history`` as ``[[user, assistant], ...]``.
- ``sharegpt``: ``{"conversations": [{"from": "human"|"gpt", "value"}...], "system"}``.
- ``openai``: ``{"messages": [{"role": "system"|"user"|"assistant", "content"}...]}``, the system
  message first (left out when the sample's system prompt is empty).
- ``raw``: the whole sample (scores, attempts, lineage) as JSON; ``read_raw_jsonl`` reads it back.

Training formats require turns that alternate user/assistant, starting with the user and ending
with the assistant; anything else raises ``ExportError`` naming the sample.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal, Protocol, get_args

from pydantic import ValidationError

from agents.schemas import Sample

ExportFormat = Literal["alpaca", "sharegpt", "openai", "raw"]
EXPORT_FORMATS: tuple[ExportFormat, ...] = get_args(ExportFormat)
DATASET_INFO_FILE = "dataset_info.json"
_NEW_FILE_MODE = 0o644


class ExportError(Exception):
    """A sample or a path that cannot be exported."""


class TurnLike(Protocol):
    """A turn as the training formats read it (``agents.schemas.Turn``, or a stored row's turn)."""

    @property
    def role(self) -> str:
        """``user`` or ``assistant``."""
        ...

    @property
    def content(self) -> str:
        """The turn's text."""
        ...


class Exportable(Protocol):
    """What the training formats read of a sample: its id, system prompt and turns."""

    @property
    def id(self) -> str:
        """The sample's id (errors name it)."""
        ...

    @property
    def system(self) -> str:
        """The system prompt ("" for none)."""
        ...

    @property
    def turns(self) -> Sequence[TurnLike]:
        """The dialogue."""
        ...


def check_alternation(sample: Exportable) -> None:
    """Raise ``ExportError`` unless the turns go user, assistant, user, ... and end with assistant.

    Args:
        sample: The sample to check.

    Raises:
        ExportError: The turns are empty, odd in number, or out of order; the message names the
            sample id.
    """
    turns = sample.turns
    if not turns:
        raise ExportError(f"sample {sample.id}: no turns to export")
    for index, turn in enumerate(turns):
        expected = "user" if index % 2 == 0 else "assistant"
        if turn.role != expected:
            raise ExportError(
                f"sample {sample.id}: turn {index} is {turn.role!r}, expected {expected!r} "
                "(turns must alternate user/assistant, starting with user)"
            )
    if len(turns) % 2:
        raise ExportError(f"sample {sample.id}: the last turn is 'user', expected 'assistant'")


def _exchanges(sample: Exportable) -> list[tuple[str, str]]:
    """Return the (user, assistant) pairs of a checked sample."""
    check_alternation(sample)
    turns = sample.turns
    return [(turns[i].content, turns[i + 1].content) for i in range(0, len(turns), 2)]


def to_record(sample: Exportable, fmt: ExportFormat) -> dict[str, Any]:
    """Convert one sample to one record of the given format.

    Args:
        sample: The sample to convert.
        fmt: One of ``EXPORT_FORMATS``.

    Returns:
        A JSON-serialisable dict.

    Raises:
        ExportError: The format is unknown, or (for a training format) the turns do not alternate.
    """
    if fmt == "raw":
        if not isinstance(sample, Sample):
            raise ExportError(f"sample {sample.id}: the raw format needs the whole sample")
        return sample.model_dump(mode="json")
    if fmt == "alpaca":
        pairs = _exchanges(sample)
        return {
            "instruction": pairs[-1][0],
            "input": "",
            "output": pairs[-1][1],
            "system": sample.system,
            "history": [[user, assistant] for user, assistant in pairs[:-1]],
        }
    if fmt == "sharegpt":
        pairs = _exchanges(sample)
        conversations: list[dict[str, str]] = []
        for user, assistant in pairs:
            conversations.append({"from": "human", "value": user})
            conversations.append({"from": "gpt", "value": assistant})
        return {"conversations": conversations, "system": sample.system}
    if fmt == "openai":
        pairs = _exchanges(sample)
        messages: list[dict[str, str]] = []
        if sample.system:
            messages.append({"role": "system", "content": sample.system})
        for user, assistant in pairs:
            messages.append({"role": "user", "content": user})
            messages.append({"role": "assistant", "content": assistant})
        return {"messages": messages}
    raise ExportError(f"unknown export format {fmt!r}; choose one of {', '.join(EXPORT_FORMATS)}")


def _json_line(sample: Exportable, fmt: ExportFormat) -> str:
    """Return one sample as a JSON line (with its newline) that is valid UTF-8."""
    line = json.dumps(to_record(sample, fmt), ensure_ascii=False) + "\n"
    try:
        line.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ExportError(f"sample {sample.id}: text is not valid Unicode ({error.reason})") from error
    return line


def iter_jsonl_lines(samples: Iterable[Exportable], fmt: ExportFormat) -> Iterator[str]:
    """Yield one JSON line per sample, each ending with a newline (for streaming responses).

    Args:
        samples: The samples to export, in order.
        fmt: One of ``EXPORT_FORMATS``.

    Yields:
        One record as JSON (non-ASCII characters kept as they are) followed by a newline.

    Raises:
        ExportError: A sample cannot be converted; raised when that sample is reached.
    """
    for sample in samples:
        yield _json_line(sample, fmt)


def atomic_write(path: Path, chunks: Iterable[str]) -> int:
    """Write text chunks to ``path`` through a temporary file and a rename; return the chunk count.

    Nothing is left at ``path`` (or beside it) if writing fails, and an existing file keeps its
    old content.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Closed below, then renamed into place or removed.
        handle = tempfile.NamedTemporaryFile(  # noqa: SIM115
            "w",
            encoding="utf-8",
            newline="\n",
            dir=path.parent,
            prefix=f".{path.name}.",
            suffix=".tmp",
            delete=False,
        )
    except OSError as error:
        raise ExportError(f"cannot write {path}: {error.strerror or error}") from error
    temp = Path(handle.name)
    count = 0
    try:
        with handle:
            for chunk in chunks:
                handle.write(chunk)
                count += 1
            handle.flush()
            os.fsync(handle.fileno())
        mode = path.stat().st_mode & 0o777 if path.exists() else _NEW_FILE_MODE
        os.chmod(temp, mode)
        os.replace(temp, path)
    except BaseException as error:
        temp.unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise ExportError(f"cannot write {path}: {error.strerror or error}") from error
        raise
    return count


def write_jsonl(samples: Iterable[Sample], fmt: ExportFormat, path: Path) -> int:
    """Write samples as JSON Lines (UTF-8, one record a line), atomically.

    Args:
        samples: The samples to export, in order.
        fmt: One of ``EXPORT_FORMATS``.
        path: The file to create or replace; missing parent directories are created.

    Returns:
        The number of records written.

    Raises:
        ExportError: A sample cannot be converted or the path cannot be written; the file is
            then left as it was (absent, or with its previous content).
    """
    return atomic_write(Path(path), iter_jsonl_lines(samples, fmt))


def read_raw_jsonl(path: Path) -> list[Sample]:
    """Read samples back from a file written with format ``raw``.

    Args:
        path: A JSON Lines file of full samples; blank lines are skipped.

    Returns:
        The samples, in file order.

    Raises:
        ExportError: The file cannot be read or a line is not a valid sample.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ExportError(f"cannot read {path}: {error}") from error
    samples: list[Sample] = []
    # Split on "\n" only: str.splitlines() would also split inside text on U+2028 and friends.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            samples.append(Sample.model_validate_json(line))
        except ValidationError as error:
            raise ExportError(f"{path}:{number}: not a raw sample: {error}") from error
    return samples


def dataset_info_entry(dataset_name: str, file_name: str, fmt: ExportFormat) -> dict[str, Any]:
    """Return the LLaMA-Factory ``dataset_info.json`` entry that describes one exported file.

    Args:
        dataset_name: The name to train with (``dataset: <name>`` in LLaMA-Factory's config).
        file_name: The exported file, relative to the directory holding ``dataset_info.json``.
        fmt: ``alpaca``, ``sharegpt`` or ``openai`` (``raw`` is not a training format).

    Returns:
        ``{dataset_name: description}``, ready to merge into ``dataset_info.json``.

    Raises:
        ExportError: The format has no LLaMA-Factory description.
    """
    description: dict[str, Any] = {"file_name": file_name}
    if fmt == "alpaca":
        description["columns"] = {
            "prompt": "instruction",
            "query": "input",
            "response": "output",
            "system": "system",
            "history": "history",
        }
    elif fmt == "sharegpt":
        description["formatting"] = "sharegpt"
        description["columns"] = {"messages": "conversations", "system": "system"}
        description["tags"] = {
            "role_tag": "from",
            "content_tag": "value",
            "user_tag": "human",
            "assistant_tag": "gpt",
        }
    elif fmt == "openai":
        # LLaMA-Factory documents OpenAI messages as the sharegpt formatting with these tags; its
        # newer "openai" formatting rewrites system prompts ("detailed thinking off"), so avoid it.
        description["formatting"] = "sharegpt"
        description["columns"] = {"messages": "messages"}
        description["tags"] = {
            "role_tag": "role",
            "content_tag": "content",
            "user_tag": "user",
            "assistant_tag": "assistant",
            "system_tag": "system",
        }
    else:
        raise ExportError(f"format {fmt!r} has no LLaMA-Factory dataset description")
    return {dataset_name: description}


def write_dataset_info(directory: Path, dataset_name: str, file_name: str, fmt: ExportFormat) -> Path:
    """Add or replace one entry of ``directory/dataset_info.json``, keeping every other entry.

    Args:
        directory: The LLaMA-Factory data directory (created if missing).
        dataset_name: The entry's name.
        file_name: The exported file, relative to ``directory``.
        fmt: ``alpaca``, ``sharegpt`` or ``openai``.

    Returns:
        The path of ``dataset_info.json``.

    Raises:
        ExportError: The existing file is not a JSON object, or the file cannot be written.
    """
    entry = dataset_info_entry(dataset_name, file_name, fmt)
    path = Path(directory) / DATASET_INFO_FILE
    info: dict[str, Any] = {}
    if path.exists():
        try:
            loaded = json.loads(path.read_text(encoding="utf-8") or "{}")
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ExportError(f"cannot read {path}: {error}") from error
        if not isinstance(loaded, dict):
            raise ExportError(f"{path} is not a JSON object; refusing to overwrite it")
        info = loaded
    info.update(entry)
    atomic_write(path, [json.dumps(info, ensure_ascii=False, indent=2) + "\n"])
    return path
