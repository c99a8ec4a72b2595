"""A chat model wrapper that admits each call, serves it from the call cache, or sends it in a batch.

:class:`BoundedChatModel` wraps the ``ChatOpenAI`` of one role: a call is first looked up in the
data directory's call cache (agents/call_cache.py), then, in batch mode, queued for the job's
next Batch API submission of its stage (agents/batching.py), else sent live once the endpoint's
:class:`~agents.admission.Admission` allows.
"""

from __future__ import annotations

import asyncio
import json
import uuid
import weakref
from collections.abc import Callable
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_openai import ChatOpenAI
from pydantic import ConfigDict, PrivateAttr

from agents.admission import Admission, Ticket, current_ticket, estimate_tokens
from agents.batching import BatchDispatcher
from agents.call_cache import CACHE_HIT, CallCache, call_key
from agents.call_scope import current_scope
from agents.job_calls import job_call_slot


def _message_text(messages: list[BaseMessage]) -> str:
    return "\n".join(str(message.content) for message in messages)


def _to_cache(message: AIMessage) -> bytes:
    usage = dict(message.usage_metadata or {})
    finish = (message.response_metadata or {}).get("finish_reason")
    return json.dumps({"content": message.content, "usage": usage, "finish_reason": finish}).encode()


def _from_cache(value: bytes) -> AIMessage:
    stored = json.loads(value)
    metadata = {CACHE_HIT: True, "finish_reason": stored.get("finish_reason"), "cached_usage": stored.get("usage")}
    return AIMessage(content=stored["content"], response_metadata=metadata)


class BoundedChatModel(BaseChatModel):
    """Wrap a chat model so that each call waits for its admission (see :mod:`agents.admission`).

    ``.bind(...)`` options reach the inner model unchanged, and the inner model's ``AIMessage``
    (content, ``usage_metadata``, response metadata) is returned as is. The call's ticket is in
    :data:`~agents.admission.current_ticket` while it runs, for the HTTP hook.

    An async HTTP client must not outlive its event loop (a pooled connection from a closed loop
    fails with "Event loop is closed"), and langchain-openai caches one per base URL for the whole
    process. So when ``async_inner_factory`` is given, each event loop gets its own inner model
    from it; ``inner`` serves sync calls.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    inner: BaseChatModel
    admission: Admission
    async_inner_factory: Callable[[], BaseChatModel] | None = None
    call_cache: CallCache | None = None
    endpoint: str = ""
    batches: BatchDispatcher | None = None  # batch mode: calls go through the job's Batch API submissions
    stage: str = ""  # this role's stage in batch mode (generate, judge, rewrite)
    _per_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, BaseChatModel] = PrivateAttr(
        default_factory=weakref.WeakKeyDictionary
    )

    @property
    def _llm_type(self) -> str:
        return f"bounded-{self.inner._llm_type}"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"inner": self.inner._identifying_params, "max_concurrency": self.admission.ceiling}

    @staticmethod
    def _result(message: BaseMessage) -> ChatResult:
        if not isinstance(message, AIMessage):
            raise TypeError(f"inner chat model returned {type(message).__name__}, expected AIMessage")
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _async_inner(self) -> BaseChatModel:
        if self.async_inner_factory is None:
            return self.inner
        loop = asyncio.get_running_loop()
        model = self._per_loop.get(loop)
        if model is None:
            model = self._per_loop[loop] = self.async_inner_factory()
        return model

    def _estimate(self, messages: list[BaseMessage], kwargs: dict[str, Any]) -> int:
        """Prompt tokens (estimated) plus the completion expected (at most ``max_tokens``)."""
        expected = self.admission.expected_output
        if kwargs.get("max_tokens"):
            expected = min(expected, float(kwargs["max_tokens"]))
        return estimate_tokens(_message_text(messages)) + int(expected)

    def _settle(self, ticket: Ticket, message: BaseMessage | None) -> None:
        """Release the ticket, correcting the token charge from the reported usage."""
        usage = getattr(message, "usage_metadata", None) if message is not None else None
        if usage:
            self.admission.note_output(int(usage.get("output_tokens", 0)))
        self.admission.release(ticket, int(usage["total_tokens"]) if usage else None)

    def _call_key(self, messages: list[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any]) -> str | None:
        """The call's key in the call cache and its batch custom id; None outside a sample's scope.

        Computed only with a cache or in batch mode (it numbers the call within its scope). Keyed
        by endpoint, model, messages, every parameter (response format, temperature, max
        tokens, stop) and the sample's seed and call number, so sampling stays varied across
        samples and identical across reruns.
        """
        scope = current_scope.get()
        if (self.call_cache is None and self.batches is None) or scope is None:
            return None
        return call_key(
            kind="chat",
            endpoint=self.endpoint,
            model=getattr(self.inner, "model_name", None) or self.inner._llm_type,
            messages=[[message.type, message.content] for message in messages],
            params={**kwargs, "stop": stop},
            seed=scope.seed,
            call=scope.next_call(),
        )

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        ticket = self.admission.acquire_blocking(self._estimate(messages, kwargs))
        token = current_ticket.set(ticket)
        message: BaseMessage | None = None
        try:
            message = self.inner.invoke(messages, stop=stop, **kwargs)
            return self._result(message)
        finally:
            current_ticket.reset(token)
            self._settle(ticket, message)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        key = self._call_key(messages, stop, kwargs)
        if key is not None and self.call_cache is not None:
            stored = await asyncio.to_thread(self.call_cache.get, key)
            if stored is not None:
                return self._result(_from_cache(stored))
        message = await self._batched(messages, stop, kwargs, key) if self.batches is not None else None
        if message is not None:
            result = self._result(message)
        else:
            message, result = await self._live(messages, stop, kwargs)
        if key is not None and self.call_cache is not None and isinstance(message, AIMessage):
            await asyncio.to_thread(self.call_cache.put, key, "chat", _to_cache(message))
        return result

    async def _live(
        self, messages: list[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any]
    ) -> tuple[BaseMessage, ChatResult]:
        """Call the endpoint once the job has a free slot and the endpoint's admission allows."""
        async with job_call_slot():
            ticket = await self.admission.acquire(self._estimate(messages, kwargs))
            token = current_ticket.set(ticket)
            message: BaseMessage | None = None
            try:
                message = await self._async_inner().ainvoke(messages, stop=stop, **kwargs)
                return message, self._result(message)
            finally:
                current_ticket.reset(token)
                self._settle(ticket, message)

    async def _batched(
        self, messages: list[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any], key: str | None
    ) -> BaseMessage | None:
        """Send the call in the job's next batch of this stage; None: make it live (see agents/batching.py).

        The request body is the one the live call would send (langchain-openai builds it) and the
        answer is read the same way, so batch and live answers are interchangeable in the cache.
        """
        assert self.batches is not None
        inner = self.inner
        if not isinstance(inner, ChatOpenAI):
            return None
        body = inner._get_request_payload(messages, stop=stop, **kwargs)
        body.pop("stream", None)
        answer = await self.batches.call(self.stage, key or uuid.uuid4().hex, body)
        if answer is None:
            return None
        return inner._create_chat_result(answer).generations[0].message
