"""Probability-weighted judge scores (G-Eval's weighting, Liu et al. 2023) from one call's logprobs.

A sampled score is one draw from the judge's distribution over 1-5; the weighted score is that
distribution's expectation, ``sum(s * p(s)) / sum(p(s))`` over the score tokens the endpoint
reports among the top log-probabilities at the position where the score was written. It comes
from the same call as the sampled score (the answer is requested with ``logprobs``), so it costs
no extra call. llama.cpp's server and OpenAI both return ``logprobs.content``: one entry per
generated token with ``token``, ``bytes`` and ``top_logprobs``. llama.cpp's are pre-sampling
probabilities (before the JSON grammar: at a position the grammar forces, the alternatives are
what the model would have liked to write), which is why only the digit tokens 1-5 are kept and
renormalised.

An endpoint that returns no logprobs, or an answer whose score token cannot be found, simply has
no weighted score for that criterion; callers fall back to the sampled one.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

SCORE_TOKENS = {str(level): level for level in range(1, 6)}
TOP_LOGPROBS = 10
_SCORE = re.compile(r'(?<!\\)"score"\s*:\s*([1-5])')


@dataclass(frozen=True)
class TokenChoice:
    """One generated token: its bytes and the top alternatives with their log-probabilities."""

    data: bytes
    top: tuple[tuple[str, float], ...]


def token_choices(content: Sequence[Mapping[str, Any]] | None) -> list[TokenChoice]:
    """Read an OpenAI-style ``logprobs.content`` list (missing fields tolerated)."""
    found = []
    for entry in content or []:
        token = str(entry.get("token", ""))
        raw_bytes = entry.get("bytes")
        data = bytes(raw_bytes) if isinstance(raw_bytes, list) else token.encode("utf-8")
        top = tuple(
            (str(alt.get("token", "")), float(alt.get("logprob", -math.inf))) for alt in entry.get("top_logprobs") or []
        )
        found.append(TokenChoice(data, top or ((token, float(entry.get("logprob", 0.0))),)))
    return found


def score_offsets(raw: str, names: Sequence[str]) -> dict[str, int]:
    """Return, per criterion, the character offset of its score digit in the raw JSON answer.

    The answer shape is ``{"<name>": {..., "score": N}, ...}``; a quote inside a JSON string is
    escaped, so an unescaped ``"<name>": {`` or ``"score": N`` is always a key, never reason text.
    """
    offsets: dict[str, int] = {}
    for name in names:
        key = re.compile(rf'(?<!\\)"{re.escape(name)}"\s*:\s*\{{').search(raw)
        if key is None:
            continue
        score = _SCORE.search(raw, key.end())
        if score is not None:
            offsets[name] = score.start(1)
    return offsets


def expected_score(top: Sequence[tuple[str, float]]) -> float | None:
    """Return the expectation over the score tokens 1-5 among ``top`` (None when none is there)."""
    mass: dict[int, float] = {}
    for token, logprob in top:
        level = SCORE_TOKENS.get(token.strip())
        if level is not None and logprob > -math.inf:
            mass[level] = mass.get(level, 0.0) + math.exp(logprob)
    total = sum(mass.values())
    if total <= 0:
        return None
    return sum(level * weight for level, weight in mass.items()) / total


def _text_start(choices: Sequence[TokenChoice], raw: str) -> int | None:
    """Return where the answer text starts in the generated tokens' bytes, or None if it is not there.

    llama.cpp strips a code fence the model wrote around the JSON (```json ... ```) from the
    message content but not from the logprobs, so the text can start after a few tokens.
    """
    found = b"".join(choice.data for choice in choices).find(raw.encode("utf-8"))
    return found if found >= 0 else None


def _token_at(choices: Sequence[TokenChoice], byte_offset: int) -> TokenChoice | None:
    position = 0
    for choice in choices:
        end = position + len(choice.data)
        if position <= byte_offset < end:
            return choice
        position = end
    return None


def weighted_scores(raw: str, content: Sequence[Mapping[str, Any]] | None, names: Sequence[str]) -> dict[str, float]:
    """Compute each criterion's probability-weighted score from a judge answer and its logprobs.

    Args:
        raw: The answer text (the concatenation of the generated tokens).
        content: The response's ``logprobs.content`` (None or empty: no weighted scores).
        names: The criteria to read.

    Returns:
        ``{criterion: expected score}`` for every criterion whose score token was found with at
        least one score digit among its alternatives; the others are left out.
    """
    choices = token_choices(content)
    start = _text_start(choices, raw) if choices and raw else None
    if start is None:
        return {}  # the tokens do not hold this text (a rewritten answer): do not guess
    found: dict[str, float] = {}
    for name, offset in score_offsets(raw, names).items():
        choice = _token_at(choices, start + len(raw[:offset].encode("utf-8")))
        if choice is None or choice.data.decode("utf-8", "replace").strip() != raw[offset]:
            continue  # the digit shares its token with other text: no clean distribution
        value = expected_score(choice.top)
        if value is not None:
            found[name] = round(value, 4)
    return found


class LogprobsUnavailableError(RuntimeError):
    """Weighted scoring was asked for, and the judge endpoint returns no log-probabilities."""


def judge_scoring(model: Any, wanted: str, allow_sampled: bool) -> Literal["sampled", "weighted"]:
    """Decide the judge's scoring: ``weighted`` only when one probe call returns logprobs.

    Args:
        model: The judge's chat model (one tiny call, ``max_tokens=1``, is made for ``weighted``).
        wanted: ``sampled`` or ``weighted``.
        allow_sampled: Fall back to sampled scores (instead of failing) when there are no logprobs.

    Raises:
        LogprobsUnavailableError: ``weighted`` was asked for, the endpoint gives no logprobs, and
            falling back was not allowed.
    """
    if wanted != "weighted":
        return "sampled"
    from langchain_core.messages import HumanMessage

    answer = model.invoke([HumanMessage("Answer with one digit: 3")], logprobs=True, top_logprobs=2, max_tokens=1)
    metadata = getattr(answer, "response_metadata", {}) or {}
    if (metadata.get("logprobs") or {}).get("content"):
        return "weighted"
    if allow_sampled:
        return "sampled"
    raise LogprobsUnavailableError(
        "the judge endpoint returns no log-probabilities, so weighted scores are impossible: set "
        "DIALOGFORGE_JUDGE_SCORING=sampled, or DIALOGFORGE_JUDGE_SAMPLED_FALLBACK=true to use sampled scores"
    )
