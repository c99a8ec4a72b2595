"""Parse chat command text (English or Chinese) into typed commands; no chat platform imports.

The grammar, after an optional verb, is a list of words separated by spaces (ASCII or
full-width), commas or the boundary between Chinese and Latin/digit characters, so
``温柔50条`` reads like ``温柔 50 条``:

- ``help`` | ``帮助`` (also an empty text)
- ``styles`` | ``风格``
- ``[generate|生成] <style> <n> [format]``: e.g. ``gentle 50 sharegpt``, ``温柔 50``, ``生成 毒舌 20 条 alpaca``
- ``status <id>`` | ``状态 <id>``
- ``cancel <id>`` | ``取消 <id>``
- ``sample <style>`` | ``样例 <style>``
- ``clean <ref> [ops]`` | ``清洗 <ref>``: e.g. ``clean bank-logs@1 normalize,pii,exact-dedup``
- ``augment <ref> <op> [n] [style] [param=value]`` | ``增强 <ref> <op words> [n条] [style] [参数=值]``: e.g.
  ``增强 bank-logs@2 换个说法 2条``, ``增强 cafe@1 换场景 场景=餐厅,书店``, ``增强 support@1 续写 4轮``
- ``report <ref>`` | ``报告 <ref>``

Every problem raises :class:`CommandError` with a message in plain words that says what to fix.

A new command kind (e.g. ``清洗 bank-logs@1``) is three additions, none in a chat adapter: its
words in :data:`VERBS`, its parser in :data:`PARSERS` (here), and its action in
``service.chatops.dispatch.ACTIONS`` (a :class:`~service.chatops.commands.JobCommand` needs none:
every job command is started and followed the same way).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from agents.augment.registry import SHORTHANDS, OperatorError
from graph.cleaning.registry import ChainError, parse_ops
from graph.datasets.export import EXPORT_FORMATS, ExportFormat
from service.chatops.commands import (
    DEFAULT_FORMAT,
    Augment,
    Cancel,
    ChatCommand,
    Clean,
    Generate,
    Help,
    ParamValue,
    Report,
    SampleNow,
    Status,
    Styles,
)
from service.chatops.dataset_words import (
    PARAM_EXAMPLES,
    PARAM_KINDS,
    augment_op,
    augment_op_list,
    is_ref,
    param_assignment,
    param_value,
)
from service.jobs.kinds.augment import MAX_PER_SAMPLE

MAX_TEXT_CHARS = 500

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_BOUNDARY = re.compile(rf"(?<=[{_CJK}])(?=[0-9A-Za-z\uff10-\uff19])|(?<=[0-9A-Za-z\uff10-\uff19])(?=[{_CJK}])")
_SEPARATORS = re.compile(r"[\s\u3000,，、;；]+")
_JOB_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_COUNT_WORDS = frozenset({"条", "个", "份", "组", "samples", "sample", "x"})

DEFAULT_VERB = "generate"  # a text that starts with no verb is a job request: ``温柔 50``
VERBS: dict[str, str] = {
    "help": "help",
    "h": "help",
    "?": "help",
    "？": "help",
    "帮助": "help",
    "说明": "help",
    "styles": "styles",
    "style": "styles",
    "list": "styles",
    "风格": "styles",
    "风格列表": "styles",
    "generate": "generate",
    "gen": "generate",
    "make": "generate",
    "生成": "generate",
    "status": "status",
    "progress": "status",
    "状态": "status",
    "进度": "status",
    "cancel": "cancel",
    "stop": "cancel",
    "取消": "cancel",
    "停止": "cancel",
    "sample": "sample",
    "try": "sample",
    "样例": "sample",
    "示例": "sample",
    "试试": "sample",
    "clean": "clean",
    "清洗": "clean",
    "清理": "clean",
    "augment": "augment",
    "增强": "augment",
    "扩充": "augment",
    "report": "report",
    "qc": "report",
    "报告": "report",
    "质检": "report",
}


class CommandError(ValueError):
    """The text is not a valid command; the message says what to fix, in plain words."""


@dataclass(frozen=True)
class Vocabulary:
    """What the parser needs to know: style names with their aliases, and the largest n."""

    styles: Mapping[str, Sequence[str]]
    max_n: int

    def resolve_style(self, word: str) -> str | None:
        """Return the style's canonical name for a name or alias (names case-insensitive), else None."""
        lowered = word.lower()
        for name, aliases in self.styles.items():
            if lowered == name.lower() or word in aliases or lowered in (a.lower() for a in aliases):
                return name
        return None

    def style_list(self) -> str:
        """Return the styles as ``name (alias, alias)`` joined by commas."""
        parts = [f"{name} ({', '.join(aliases)})" if aliases else name for name, aliases in sorted(self.styles.items())]
        return ", ".join(parts)


def tokenize(text: str) -> list[str]:
    """Split command text into words (spaces, commas, and Chinese/Latin boundaries separate words)."""
    spaced = _BOUNDARY.sub(" ", text.strip())
    return [word for word in _SEPARATORS.split(spaced) if word]


def parse_command(text: str, vocabulary: Vocabulary) -> ChatCommand:
    """Parse one command.

    Args:
        text: What the user typed after ``/dataset`` or the bot mention.
        vocabulary: The known styles and the largest n one job may ask for.

    Returns:
        The typed command.

    Raises:
        CommandError: The text is not a valid command; the message says what to fix.
    """
    if len(text) > MAX_TEXT_CHARS:
        raise CommandError(f"that command is too long ({len(text)} characters); keep it under {MAX_TEXT_CHARS}.")
    words = tokenize(text)
    if not words:
        return Help()
    words = _split_glued_verb(words, vocabulary)
    verb = VERBS.get(words[0].lower())
    args = words[1:] if verb else words
    return PARSERS[verb or DEFAULT_VERB](args, vocabulary)


def _split_glued_verb(words: list[str], vocabulary: Vocabulary) -> list[str]:
    """Split a Chinese verb written together with its argument (``生成毒舌`` -> ``生成``, ``毒舌``)."""
    head = words[0]
    if head.lower() in VERBS or vocabulary.resolve_style(head) is not None:
        return words
    for verb in sorted((word for word in VERBS if not word.isascii()), key=len, reverse=True):
        if head.startswith(verb):
            return [verb, head[len(verb) :], *words[1:]]
    return words


def _job_command(verb: Literal["status", "cancel"], args: list[str]) -> Status | Cancel:
    """Parse ``status <id>`` or ``cancel <id>``."""
    if len(args) != 1:
        raise CommandError(f"say which job: `{verb} <job id>`, e.g. `{verb} 3f2a9c1b7d4e`.")
    job_id = args[0]
    if not _JOB_ID.match(job_id):
        raise CommandError(f"{job_id!r} is not a job id; a job id is letters, digits, '-' or '_', e.g. 3f2a9c1b7d4e.")
    return Status(job_id) if verb == "status" else Cancel(job_id)


def _style(word: str, vocabulary: Vocabulary) -> str:
    """Return the canonical style for a word, or raise an error listing the styles."""
    style = vocabulary.resolve_style(word)
    if style is None:
        raise CommandError(f"I don't know the style {word!r}. The styles are: {vocabulary.style_list()}.")
    return style


def _sample_command(args: list[str], vocabulary: Vocabulary) -> SampleNow:
    """Parse ``sample <style>``."""
    if len(args) != 1:
        styles = vocabulary.style_list()
        raise CommandError(f"say which style: `sample <style>`, e.g. `sample gentle`. Styles: {styles}.")
    return SampleNow(_style(args[0], vocabulary))


def _count(word: str) -> int | None:
    """Return the number a word spells (``50``, ``n=50``, ``５０``), or None."""
    digits = word[2:] if word.lower().startswith("n=") else word
    return int(digits) if digits.isdecimal() and len(digits) <= 9 else None


def _generate_command(args: list[str], vocabulary: Vocabulary) -> Generate:
    """Parse ``<style> <n> [format]`` (n and format in either order after the style)."""
    if not args:
        raise CommandError("say which style and how many, e.g. `gentle 50 sharegpt` or `温柔 50`.")
    style = _style(args[0], vocabulary)
    n: int | None = None
    fmt: ExportFormat | None = None
    for word in args[1:]:
        count = _count(word)
        if count is not None and n is None:
            n = count
        elif word.lower() in EXPORT_FORMATS and fmt is None:
            fmt = word.lower()  # type: ignore[assignment]
        elif word.lower() in _COUNT_WORDS and n is not None:
            continue
        elif count is not None or word.lower() in EXPORT_FORMATS:
            raise CommandError(f"{word!r} is given twice; say the number and the format once each.")
        elif word.isascii() and word.isalpha():
            raise CommandError(f"unknown format {word!r}; the formats are: {', '.join(EXPORT_FORMATS)}.")
        else:
            raise CommandError(f"I don't understand {word!r}; write e.g. `{style} 50 sharegpt`, or `help`.")
    if n is None:
        raise CommandError(f"say how many samples, e.g. `{style} 50`.")
    if n < 1:
        raise CommandError("ask for at least 1 sample.")
    if n > vocabulary.max_n:
        raise CommandError(f"{n} is too many: one job can make at most {vocabulary.max_n} samples.")
    return Generate(style=style, n=n, format=fmt or DEFAULT_FORMAT)


def _ref(verb: str, args: list[str], example: str) -> str:
    """Return the version ref a data set command starts with, or raise an error saying how to write it."""
    if not args:
        raise CommandError(f"say which version: `{verb} <name@N>`, e.g. `{example}`.")
    if not is_ref(args[0]):
        raise CommandError(f"{args[0]!r} is not a data set version; write name@N (lowercase name), e.g. `{example}`.")
    return args[0]


def _clean_command(args: list[str], vocabulary: Vocabulary) -> Clean:
    """Parse ``clean <ref> [op,op,...]`` (no ops: the default chain)."""
    ref = _ref("clean", args, "clean bank-logs@1")
    ops = ",".join(args[1:]) or "default"
    try:
        parse_ops(ops)
    except ChainError as exc:
        raise CommandError(f"{exc}.") from None
    return Clean(ref=ref, ops=ops)


def _augment_command(args: list[str], vocabulary: Vocabulary) -> Augment:
    """Parse ``augment <ref> <op> [op ...] [n] [style] [param=value ...]``: operators by name or Chinese word.

    ``n`` is children per row; a style (name or alias) sets the target style (without one the job
    takes the rows' own). Parameters are the CLI's shorthands by name or Chinese word
    (``场景=餐厅,书店``, ``via=en``, ``轮数=4`` or ``4轮``, ``重点=信用卡逾期 vs 贷款逾期``); the
    words after a list or text parameter that name nothing else are more of its value.
    """
    ref = _ref("augment", args, "augment bank-logs@2 paraphrase 2")
    ops: list[str] = []
    per_sample: int | None = None
    style: str | None = None
    values: dict[str, list[str]] = {}
    open_param: str | None = None  # the list or text parameter the next plain words extend
    for word in _turns_words(args[1:]):
        count = _count(word)
        if (assignment := param_assignment(word)) is not None:
            param, value = assignment
            if param in values:
                raise CommandError(f"{param} is given twice; say it once, e.g. `{PARAM_EXAMPLES[param]}`.")
            values[param] = [value] if value else []
            open_param = param if PARAM_KINDS[param] != "number" else None
            continue
        if count is not None and per_sample is None:
            per_sample = count
        elif word.lower() in _COUNT_WORDS and per_sample is not None:
            pass
        elif (op := augment_op(word)) is not None:
            if op not in ops:
                ops.append(op)
        elif (named := vocabulary.resolve_style(word)) is not None and style is None:
            style = named
        elif open_param is not None:
            values[open_param].append(word)
            continue
        else:
            raise CommandError(f"I don't know the augmentation {word!r}. The operators are: {augment_op_list()}.")
        open_param = None
    if not ops:
        ops_text = augment_op_list()
        raise CommandError(f"say how to augment, e.g. `增强 {ref} 换个说法 2条`. The operators are: {ops_text}.")
    per_sample = 1 if per_sample is None else per_sample
    if not 1 <= per_sample <= MAX_PER_SAMPLE:
        raise CommandError(f"ask for 1 to {MAX_PER_SAMPLE} new samples per row, not {per_sample}.")
    command = Augment(ref=ref, ops=tuple(ops), per_sample=per_sample, style=style, params=_params(values, ops))
    try:
        command.specs()
    except OperatorError as exc:
        hints = [PARAM_EXAMPLES[param] for param, (takers, _) in SHORTHANDS.items() if set(takers) & set(ops)]
        hint = f" (in the chat, write e.g. `{'`, `'.join(hints)}`)" if hints else ""
        raise CommandError(f"{exc}{hint}.") from None
    return command


def _turns_words(words: list[str]) -> list[str]:
    """Read ``4 轮`` (``4轮`` split at the script boundary) as ``轮数=4``."""
    out: list[str] = []
    for word in words:
        if word == "轮" and out and _count(out[-1]) is not None:
            out[-1] = f"轮数={out[-1]}"
        else:
            out.append(word)
    return out


def _params(values: dict[str, list[str]], ops: list[str]) -> tuple[tuple[str, ParamValue], ...]:
    """Return the parameters' values in their kinds (a list, a text, a number), refusing one no operator takes."""
    params: list[tuple[str, ParamValue]] = []
    for param, words in values.items():
        takers = SHORTHANDS[param][0]
        if not set(takers) & set(ops):
            raise CommandError(f"{param} is for {' or '.join(takers)}, which this command does not name.")
        if not words:
            raise CommandError(f"give {param} a value, e.g. `{PARAM_EXAMPLES[param]}`.")
        kind = PARAM_KINDS[param]
        if kind == "list":
            params.append((param, tuple(param_value(param, word) for word in words)))
        elif kind == "text":
            params.append((param, " ".join(words)))
        elif len(words) == 1 and (number := _count(words[0])) is not None:
            params.append((param, number))
        else:
            raise CommandError(f"{param} is a number, e.g. `{PARAM_EXAMPLES[param]}`, not {' '.join(words)!r}.")
    return tuple(params)


def _report_command(args: list[str], vocabulary: Vocabulary) -> Report:
    """Parse ``report <ref>``."""
    ref = _ref("report", args, "report bank-logs@3")
    if len(args) > 1:
        raise CommandError(f"`report` takes one version, e.g. `report {ref}`.")
    return Report(ref)


CommandParser = Callable[[list[str], Vocabulary], ChatCommand]
PARSERS: dict[str, CommandParser] = {
    "help": lambda args, vocabulary: Help(),
    "styles": lambda args, vocabulary: Styles(),
    "status": lambda args, vocabulary: _job_command("status", args),
    "cancel": lambda args, vocabulary: _job_command("cancel", args),
    "sample": _sample_command,
    "generate": _generate_command,
    "clean": _clean_command,
    "augment": _augment_command,
    "report": _report_command,
}
