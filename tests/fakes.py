"""Test doubles: a deterministic embedder and a scripted chat model (no sockets, no weights)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from pydantic import Field

from benchmarks.hashed_embedder import HASHED_DIM, HashedBigramEmbedder

FAKE_DIM = HASHED_DIM


class FakeEmbedder(HashedBigramEmbedder):
    """The tests' deterministic embedder: hashed character bigrams, similar text, similar vector."""


class RecordingEmbedder(FakeEmbedder):
    """A FakeEmbedder that records every text it is asked to embed, in order."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.embed_calls = 0

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Record the texts and count the call, then embed them like FakeEmbedder."""
        self.seen.extend(texts)
        self.embed_calls += 1
        return super().embed(texts)


Responder = Callable[[list[BaseMessage], dict[str, Any]], str]


class ScriptedChatModel(BaseChatModel):
    """A chat model whose answer is computed by a function of the messages and call options.

    ``calls`` records (messages, options) for every call so tests can check rendered prompts.
    """

    responder: Responder
    calls: list[tuple[list[BaseMessage], dict[str, Any]]] = Field(default_factory=list)
    tokens_per_call: int = 10

    @property
    def _llm_type(self) -> str:
        return "scripted-fake"

    def _answer(self, messages: list[BaseMessage], options: dict[str, Any]) -> ChatResult:
        self.calls.append((messages, options))
        text = self.responder(messages, options)
        message = AIMessage(
            text,
            usage_metadata={
                "input_tokens": self.tokens_per_call,
                "output_tokens": self.tokens_per_call,
                "total_tokens": 2 * self.tokens_per_call,
            },
        )
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return self._answer(messages, kwargs)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return await self._aanswer(messages, kwargs)

    async def _aanswer(self, messages: list[BaseMessage], options: dict[str, Any]) -> ChatResult:
        """The async answer: immediate here; subclasses add latency."""
        return self._answer(messages, options)


class SlowChatModel(ScriptedChatModel):
    """The scripted fake answering after ``delay_s`` seconds, counting calls in flight at once."""

    delay_s: float = 0.02
    in_flight: int = 0
    max_in_flight: int = 0

    async def _aanswer(self, messages: list[BaseMessage], options: dict[str, Any]) -> ChatResult:
        """Answer after ``delay_s``, counting the calls waiting at once."""
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay_s)
            return self._answer(messages, options)
        finally:
            self.in_flight -= 1


def schema_name(options: dict[str, Any]) -> str:
    """Return the JSON-schema name a structured call asked for ('' when none)."""
    return str(json_schema(options).get("name", ""))


def json_schema(options: dict[str, Any]) -> dict[str, Any]:
    """Return the ``response_format.json_schema`` object of a structured call ({} when none)."""
    response_format = options.get("response_format") or {}
    return dict(response_format.get("json_schema", {}))


def prompt_text(messages: list[BaseMessage]) -> str:
    """Join a call's messages into one text."""
    return "\n".join(str(message.content) for message in messages)


def template_responder(messages: list[BaseMessage], options: dict[str, Any]) -> str:
    """Answer like benchmarks.fake_llm: valid JSON for whichever role is calling."""
    from benchmarks.fake_llm import fake_answer

    return fake_answer(prompt_text(messages), json_schema(options))


def fake_role_models(responder: Responder = template_responder) -> Any:
    """Build RoleModels whose four roles share one scripted fake (calls recorded on ``.generator``)."""
    from agents.admission import Admission
    from agents.llm import RoleModels

    model = ScriptedChatModel(responder=responder)
    names = {"generator": "fake", "judge": "fake", "rewriter": "fake", "topics": "fake"}
    return RoleModels(generator=model, judge=model, rewriter=model, topics=model, names=names, admission=Admission())
