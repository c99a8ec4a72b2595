"""Ask a chat model for JSON that matches a pydantic schema, via ``response_format``.

The schema is sent as an OpenAI ``json_schema`` response format, which OpenAI-compatible
servers (llama.cpp included) enforce while decoding. The answer is validated with pydantic; an
answer that does not validate is returned with its raw text and the error, never raised.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Generic, TypeVar

import openai
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from pydantic import BaseModel, ValidationError

from agents.call_cache import CACHE_HIT
from agents.schemas import TokenUsage

SchemaT = TypeVar("SchemaT", bound=BaseModel)


@dataclass
class StructuredReply(Generic[SchemaT]):
    """The outcome of one structured call: the parsed value or the raw text and its error."""

    parsed: SchemaT | None
    raw: str
    usage: TokenUsage
    error: str | None = None
    logprobs: list[dict[str, Any]] | None = None


@lru_cache(maxsize=256)
def response_format(schema: type[BaseModel]) -> dict[str, Any]:
    """Build (once per schema) the OpenAI ``response_format`` payload for a pydantic model."""
    return {
        "type": "json_schema",
        "json_schema": {"name": schema.__name__, "schema": schema.model_json_schema(), "strict": True},
    }


def usage_of(message: BaseMessage) -> TokenUsage:
    """Read token usage from a model answer (zero when the model does not report it).

    An answer served from the call cache counts as a cache hit: no call, no tokens.
    """
    if (getattr(message, "response_metadata", None) or {}).get(CACHE_HIT):
        return TokenUsage(cache_hits=1)
    metadata = getattr(message, "usage_metadata", None) or {}
    return TokenUsage(
        calls=1,
        input_tokens=int(metadata.get("input_tokens", 0)),
        output_tokens=int(metadata.get("output_tokens", 0)),
    )


def text_of(message: BaseMessage) -> str:
    """Return a message's text content."""
    content = message.content
    if isinstance(content, str):
        return content
    return "".join(part if isinstance(part, str) else str(part.get("text", "")) for part in content)


def parse_json_reply(text: str, schema: type[SchemaT]) -> tuple[SchemaT | None, str | None]:
    """Validate JSON text against the schema; return (value, None) or (None, error)."""
    try:
        return schema.model_validate_json(text), None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(answer)"
        return None, f"answer does not match {schema.__name__}: {where}: {first['msg']}"


async def ask_structured(
    model: BaseChatModel,
    messages: list[BaseMessage],
    schema: type[SchemaT],
    *,
    temperature: float | None = None,
    max_tokens: int | None = None,
    top_logprobs: int | None = None,
    seed: int | None = None,
) -> StructuredReply[SchemaT]:
    """Call the model once with a JSON-schema response format and validate the answer.

    Args:
        model: The chat model.
        messages: The rendered prompt.
        schema: The answer's pydantic model (sent as ``response_format``).
        temperature: Sampling temperature (the model's default when None).
        max_tokens: Output token limit.
        top_logprobs: Ask for the log-probabilities of each generated token and this many
            alternatives (``reply.logprobs``; None when the endpoint returns none).
        seed: Sampling seed, for draws that must differ (self-consistency) or repeat.
    """
    options: dict[str, Any] = {"response_format": response_format(schema)}
    if temperature is not None:
        options["temperature"] = temperature
    if max_tokens is not None:
        options["max_tokens"] = max_tokens
    if top_logprobs:
        options["logprobs"] = True
        options["top_logprobs"] = top_logprobs
    if seed is not None:
        options["seed"] = seed
    try:
        answer = await model.bind(**options).ainvoke(messages)
    except openai.LengthFinishReasonError as exc:  # cut at max_tokens: a failed answer, not a crash
        text = exc.completion.choices[0].message.content or "" if exc.completion.choices else ""
        usage = exc.completion.usage
        spent = TokenUsage(
            calls=1,
            input_tokens=usage.prompt_tokens if usage else 0,
            output_tokens=usage.completion_tokens if usage else 0,
        )
        return StructuredReply(parsed=None, raw=text, usage=spent, error="the answer was cut off at the token limit")
    if not isinstance(answer, AIMessage):
        raise TypeError(f"chat model returned {type(answer).__name__}, expected AIMessage")
    raw = text_of(answer)
    parsed, error = parse_json_reply(raw, schema)
    return StructuredReply(parsed=parsed, raw=raw, usage=usage_of(answer), error=error, logprobs=logprobs_of(answer))


def logprobs_of(message: AIMessage) -> list[dict[str, Any]] | None:
    """Return the answer's per-token log-probabilities (OpenAI ``logprobs.content``), if any."""
    found = (message.response_metadata or {}).get("logprobs")
    content = found.get("content") if isinstance(found, dict) else None
    return list(content) if isinstance(content, list) and content else None
