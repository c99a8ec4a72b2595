"""Build the chat models of each role (generator, judge, rewriter, topics) for one endpoint.

Every role talks to an OpenAI-compatible endpoint through ``langchain_openai.ChatOpenAI``: the
embedded llama.cpp server by default, or any provider (OpenAI, GLM, DeepSeek, vLLM, Ollama) set
by a base URL, a key and model names. Retries are the openai client's own; concurrency is bounded
per endpoint by :class:`BoundedChatModel`; an optional rate limit is langchain-core's
``InMemoryRateLimiter``.
"""

from __future__ import annotations

import asyncio
import threading
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
from langchain_core.rate_limiters import InMemoryRateLimiter
from langchain_openai import ChatOpenAI
from pydantic import ConfigDict, PrivateAttr, SecretStr

DEFAULT_MODEL = "default"
LOCAL_API_KEY = "sk-local"


class LLMUnreachableError(RuntimeError):
    """The LLM endpoint did not answer, or refused our key."""


@dataclass(frozen=True, repr=False)
class LLMConfig:
    """How to reach the LLM and which model each role uses.

    ``base_url`` None means the embedded server. The API key is never shown by ``repr``/``str``.
    """

    base_url: str | None = None
    api_key: str | None = None
    generator_model: str = DEFAULT_MODEL
    judge_model: str = DEFAULT_MODEL
    rewriter_model: str = DEFAULT_MODEL
    timeout_s: float = 120.0
    max_retries: int = 5
    max_concurrency: int = 8
    requests_per_second: float | None = None

    def __repr__(self) -> str:
        shown = [
            f"{item.name}={'***' if item.name == 'api_key' and self.api_key else getattr(self, item.name)!r}"
            for item in fields(self)
        ]
        return f"LLMConfig({', '.join(shown)})"

    __str__ = __repr__


@dataclass
class RoleModels:
    """The chat model of each role, and the model name behind each (for lineage)."""

    generator: BaseChatModel
    judge: BaseChatModel
    rewriter: BaseChatModel
    topics: BaseChatModel
    names: dict[str, str] = field(default_factory=dict)


class ConcurrencyLimit:
    """At most ``limit`` calls in flight, shared by every model that holds this object.

    An ``asyncio.Semaphore`` belongs to one event loop, so one is kept per running loop (tests
    and CLI commands may run several loops in turn); sync calls share a thread semaphore.
    """

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"max_concurrency must be at least 1, got {limit}")
        self.limit = limit
        self.thread_semaphore = threading.BoundedSemaphore(limit)
        self._per_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )
        self._lock = threading.Lock()

    def semaphore(self) -> asyncio.Semaphore:
        """Return the semaphore of the running event loop."""
        loop = asyncio.get_running_loop()
        with self._lock:
            found = self._per_loop.get(loop)
            if found is None:
                found = self._per_loop[loop] = asyncio.Semaphore(self.limit)
            return found


class BoundedChatModel(BaseChatModel):
    """Wrap a chat model so that calls beyond the shared limit wait for a free slot.

    ``.bind(...)`` options reach the inner model unchanged, and the inner model's ``AIMessage``
    (content, ``usage_metadata``, response metadata) is returned as is.

    An async HTTP client must not outlive its event loop (a pooled connection from a closed loop
    fails with "Event loop is closed"), and langchain-openai caches one per base URL for the whole
    process. So when ``async_inner_factory`` is given, each event loop gets its own inner model
    from it; ``inner`` serves sync calls.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    inner: BaseChatModel
    limit: ConcurrencyLimit
    async_inner_factory: Callable[[], BaseChatModel] | None = None
    _per_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, BaseChatModel] = PrivateAttr(
        default_factory=weakref.WeakKeyDictionary
    )

    @property
    def _llm_type(self) -> str:
        return f"bounded-{self.inner._llm_type}"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"inner": self.inner._identifying_params, "max_concurrency": self.limit.limit}

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

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        with self.limit.thread_semaphore:
            return self._result(self.inner.invoke(messages, stop=stop, **kwargs))

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        async with self.limit.semaphore():
            inner = self._async_inner()
            return self._result(await inner.ainvoke(messages, stop=stop, **kwargs))


def chat_openai(
    config: LLMConfig,
    base_url: str,
    model: str,
    rate_limiter: InMemoryRateLimiter | None = None,
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

    ``own_async_client`` gives the model a fresh async HTTP client instead of langchain-openai's
    process-wide cached one (see :class:`BoundedChatModel`).
    """
    extra: dict[str, Any] = {}
    if own_async_client:
        extra["http_async_client"] = openai.DefaultAsyncHttpxClient(timeout=config.timeout_s)
    return ChatOpenAI(
        model=model,
        base_url=base_url,
        api_key=SecretStr(config.api_key or LOCAL_API_KEY),
        timeout=config.timeout_s,
        max_retries=config.max_retries,
        rate_limiter=rate_limiter,
        **extra,
    )


def build_role_models(config: LLMConfig, base_url: str) -> RoleModels:
    """Build the generator, judge, rewriter and topics models on one endpoint.

    All roles share one concurrency limit (``config.max_concurrency`` calls in flight) and, when
    ``config.requests_per_second`` is set, one rate limiter. The topics brainstorm uses the
    generator's model.

    Args:
        config: Model names, key, timeouts and limits.
        base_url: The endpoint to call (``config.base_url``, or the embedded server's URL).
    """
    limit = ConcurrencyLimit(config.max_concurrency)
    rate_limiter = (
        InMemoryRateLimiter(requests_per_second=config.requests_per_second, check_every_n_seconds=0.05)
        if config.requests_per_second
        else None
    )
    names = {
        "generator": config.generator_model,
        "judge": config.judge_model,
        "rewriter": config.rewriter_model,
        "topics": config.generator_model,
    }
    clients = {model: chat_openai(config, base_url, model, rate_limiter) for model in set(names.values())}

    def per_loop(model: str) -> Callable[[], BaseChatModel]:
        return lambda: chat_openai(config, base_url, model, rate_limiter, own_async_client=True)

    bounded = {
        role: BoundedChatModel(inner=clients[model], limit=limit, async_inner_factory=per_loop(model))
        for role, model in names.items()
    }
    return RoleModels(
        generator=bounded["generator"],
        judge=bounded["judge"],
        rewriter=bounded["rewriter"],
        topics=bounded["topics"],
        names=names,
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
