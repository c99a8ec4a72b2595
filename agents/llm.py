"""Build the chat models of each role (generator, judge, rewriter, topics) for one endpoint.

Every role talks to an OpenAI-compatible endpoint through ``langchain_openai.ChatOpenAI``: the
embedded llama.cpp server by default, or any provider (OpenAI, GLM, DeepSeek, vLLM, Ollama) set
by a base URL, a key and model names. Retries are the openai client's own; when each call may
start is decided per endpoint by one :class:`~agents.admission.Admission` (AIMD concurrency,
the provider's rate-limit headers, optional RPM/TPM buckets), which sees every HTTP answer,
retries included, through an httpx event hook.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from typing import Any

import httpx
import openai
from langchain_core.language_models import BaseChatModel
from langchain_openai import ChatOpenAI
from pydantic import SecretStr

from agents.admission import Admission, current_ticket
from agents.batching import BatchDispatcher
from agents.bounded_chat import BoundedChatModel
from agents.call_cache import CallCache

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

    def batched(self, dispatcher: BatchDispatcher) -> RoleModels:
        """Return these models with the generate, judge and rewrite stages sent through the Batch API.

        Topic brainstorms stay live: they are few, and each one's prompt lists the topics found so far.
        """

        def staged(model: BaseChatModel, stage: str) -> BaseChatModel:
            if not isinstance(model, BoundedChatModel):
                return model
            return model.model_copy(update={"batches": dispatcher, "stage": stage})

        return replace(
            self,
            generator=staged(self.generator, "generate"),
            judge=staged(self.judge, "judge"),
            rewriter=staged(self.rewriter, "rewrite"),
        )


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
    when the same call was answered before (see :meth:`BoundedChatModel._call_key`).

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
