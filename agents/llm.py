"""Build the chat models of each role (generator, judge, rewriter, topics) for one endpoint.

Every role talks to an OpenAI-compatible endpoint through ``langchain_openai.ChatOpenAI``: the
embedded llama.cpp server by default, or any provider (OpenAI, GLM, DeepSeek, vLLM, Ollama) set
by a base URL, a key and model names. Retries are the openai client's own; when each call may
start is decided per endpoint by one :class:`~agents.admission.Admission` (AIMD concurrency,
the provider's rate-limit headers, optional RPM/TPM buckets), which sees every HTTP answer,
retries included, through an httpx event hook.
"""

from __future__ import annotations

import asyncio
import json
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any

import httpx
import openai
from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_openai import ChatOpenAI
from pydantic import ConfigDict, PrivateAttr, SecretStr

from agents.admission import Admission, Ticket, current_ticket, estimate_tokens
from agents.call_cache import CACHE_HIT, CallCache, call_key
from agents.call_scope import current_scope

DEFAULT_MODEL = "default"
LOCAL_API_KEY = "sk-local"


class LLMUnreachableError(RuntimeError):
    """The LLM endpoint did not answer, or refused our key."""


@dataclass(frozen=True, repr=False)
class LLMConfig:
    """How to reach the LLM, which model each role uses, and the limits of the endpoint.

    ``base_url`` None means the embedded server. ``max_concurrency`` None means no cap beyond the
    jobs' own concurrency (the admission still halves it on 429s). The API key is never shown by
    ``repr``/``str``.
    """

    base_url: str | None = None
    api_key: str | None = None
    generator_model: str = DEFAULT_MODEL
    judge_model: str = DEFAULT_MODEL
    rewriter_model: str = DEFAULT_MODEL
    timeout_s: float = 120.0
    max_retries: int = 5
    max_concurrency: int | None = None
    requests_per_minute: float | None = None
    tokens_per_minute: float | None = None

    def __repr__(self) -> str:
        shown = [
            f"{item.name}={'***' if item.name == 'api_key' and self.api_key else getattr(self, item.name)!r}"
            for item in fields(self)
        ]
        return f"LLMConfig({', '.join(shown)})"

    __str__ = __repr__


@dataclass
class RoleModels:
    """The chat model of each role, the model name behind each (for lineage) and their admission."""

    generator: BaseChatModel
    judge: BaseChatModel
    rewriter: BaseChatModel
    topics: BaseChatModel
    names: dict[str, str] = field(default_factory=dict)
    admission: Admission | None = None


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

    def _cache_key(self, messages: list[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any]) -> str | None:
        """The call's cache key, or None when it is not cached (no cache, or outside a sample's scope).

        Keyed by endpoint, model, messages, every parameter (response format, temperature, max
        tokens, stop) and the sample's seed and call number, so sampling stays varied across
        samples and identical across reruns.
        """
        scope = current_scope.get()
        if self.call_cache is None or scope is None:
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
        key = self._cache_key(messages, stop, kwargs)
        if key is not None and self.call_cache is not None:
            stored = await asyncio.to_thread(self.call_cache.get, key)
            if stored is not None:
                return self._result(_from_cache(stored))
        ticket = await self.admission.acquire(self._estimate(messages, kwargs))
        token = current_ticket.set(ticket)
        message: BaseMessage | None = None
        try:
            message = await self._async_inner().ainvoke(messages, stop=stop, **kwargs)
            result = self._result(message)
        finally:
            current_ticket.reset(token)
            self._settle(ticket, message)
        if key is not None and self.call_cache is not None and isinstance(message, AIMessage):
            await asyncio.to_thread(self.call_cache.put, key, "chat", _to_cache(message))
        return result


def _http_clients(config: LLMConfig, admission: Admission | None) -> dict[str, Any]:
    """HTTP clients whose hooks show every answer (retries included) to the admission, and hold retries.

    The request hook runs before every attempt the openai client sends: the first was admitted
    already; a retry waits for the admission's pause and buckets (the client still decides whether
    and how often to retry).
    """
    if admission is None:
        return {"http_async_client": openai.DefaultAsyncHttpxClient(timeout=config.timeout_s)}

    async def on_async_request(request: httpx.Request) -> None:
        await admission.before_attempt(current_ticket.get())

    async def on_async_response(response: httpx.Response) -> None:
        admission.observe(response.status_code, response.headers, current_ticket.get())

    def on_response(response: httpx.Response) -> None:
        admission.observe(response.status_code, response.headers, current_ticket.get())

    return {
        "http_async_client": openai.DefaultAsyncHttpxClient(
            timeout=config.timeout_s, event_hooks={"request": [on_async_request], "response": [on_async_response]}
        ),
        "http_client": openai.DefaultHttpxClient(timeout=config.timeout_s, event_hooks={"response": [on_response]}),
    }


def chat_openai(
    config: LLMConfig,
    base_url: str,
    model: str,
    admission: Admission | None = None,
    *,
    own_async_client: bool = False,
) -> ChatOpenAI:
    """Build one ``ChatOpenAI`` client for a model on an OpenAI-compatible endpoint.

    Retries are left to the openai client (``max_retries``), which in openai 3.52
    (``openai/_base_client.py``: ``AsyncAPIClient.request``, ``_should_retry``,
    ``_calculate_retry_timeout``) retries connection errors, timeouts and HTTP 408, 409, 429 and 5xx (or whatever an
    ``x-should-retry`` header says), waits ``Retry-After``/``retry-after-ms`` when the server sends
    one of at most 120 s, and otherwise backs off exponentially from 0.5 s to 8 s with up to 25 %
    jitter. A second retry layer on top would multiply the attempts, so there is none.

    ``own_async_client`` gives the model fresh HTTP clients instead of langchain-openai's
    process-wide cached one (see :class:`BoundedChatModel`); with an ``admission`` their response
    hook reports every answer to it.
    """
    extra = _http_clients(config, admission) if own_async_client or admission is not None else {}
    return ChatOpenAI(
        model=model,
        base_url=base_url,
        api_key=SecretStr(config.api_key or LOCAL_API_KEY),
        timeout=config.timeout_s,
        max_retries=config.max_retries,
        **extra,
    )


def build_role_models(
    config: LLMConfig, base_url: str, cache: CallCache | None = None, *, cache_endpoint: str | None = None
) -> RoleModels:
    """Build the generator, judge, rewriter and topics models on one endpoint.

    All roles share one :class:`~agents.admission.Admission` (``config.max_concurrency`` calls in
    flight at most, None: no cap; RPM/TPM buckets when set). The topics brainstorm uses the
    generator's model. With a ``cache``, calls made inside a sample's scope are served from it
    when the same call was answered before (see :meth:`BoundedChatModel._cache_key`).

    Args:
        config: Model names, key, timeouts and limits.
        base_url: The endpoint to call (``config.base_url``, or the embedded server's URL).
        cache: The data directory's call cache (None: no caching).
        cache_endpoint: How the endpoint is named in cache keys (default ``base_url``; the embedded
            server, on a new port each start, is named by its model).
    """
    admission = Admission(config.max_concurrency, rpm=config.requests_per_minute, tpm=config.tokens_per_minute)
    names = {
        "generator": config.generator_model,
        "judge": config.judge_model,
        "rewriter": config.rewriter_model,
        "topics": config.generator_model,
    }
    clients = {model: chat_openai(config, base_url, model, admission) for model in set(names.values())}

    def per_loop(model: str) -> Callable[[], BaseChatModel]:
        return lambda: chat_openai(config, base_url, model, admission, own_async_client=True)

    bounded = {
        role: BoundedChatModel(
            inner=clients[model],
            admission=admission,
            async_inner_factory=per_loop(model),
            call_cache=cache,
            endpoint=cache_endpoint or base_url,
        )
        for role, model in names.items()
    }
    return RoleModels(
        generator=bounded["generator"],
        judge=bounded["judge"],
        rewriter=bounded["rewriter"],
        topics=bounded["topics"],
        names=names,
        admission=admission,
    )


async def check_reachable(base_url: str, api_key: str | None, timeout: float = 10.0) -> None:
    """Fail fast when the endpoint cannot be reached: GET ``{base_url}/models`` once.

    Any HTTP answer below 500 other than 401/403 counts as reachable (a few providers do not
    list models). The error message names the URL, never the key.

    Raises:
        LLMUnreachableError: no connection, a timeout, a refused key or a server error.
    """
    url = f"{base_url.rstrip('/')}/models"
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            answer = await client.get(url, headers=headers)
    except httpx.HTTPError as exc:
        reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        raise LLMUnreachableError(f"cannot reach the LLM at {url}: {reason}") from None
    if answer.status_code in (401, 403):
        raise LLMUnreachableError(f"cannot reach the LLM at {url}: HTTP {answer.status_code} (the API key was refused)")
    if answer.status_code >= 500:
        raise LLMUnreachableError(f"cannot reach the LLM at {url}: HTTP {answer.status_code}")
