"""The runtime of ``dialogforge eval``: judge models and embedders from the same settings as every command.

By default the judge role's endpoint, key and model (``DIALOGFORGE_LLM_BASE_URL``,
``DIALOGFORGE_LLM_API_KEY``, ``DIALOGFORGE_JUDGE_MODEL``), or the embedded model when no URL is
set; ``--base-url`` and ``--models`` override. The configured key is sent only to the configured
URL: another ``--base-url`` gets ``--api-key`` or nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, replace

from langchain_core.language_models import BaseChatModel

from agents.embeddings import Embedder, make_embedder
from agents.llm import build_role_models, chat_openai
from agents.local_llm import EmbeddedLLMServer, resolve_model_path
from evals.runtime import EndpointChoice, ModelProvider
from service.settings import Settings

# a long timeout: on a busy 2-core machine a queued call can take minutes, and a retry after a
# client timeout would only redo the same work
EMBEDDED_EVAL_TIMEOUT_S = 900.0


@dataclass
class SettingsRuntime:
    """Builds eval models and embedders from :class:`Settings`."""

    settings: Settings

    def judge_models(self, choice: EndpointChoice) -> ModelProvider:
        """Return the provider of judge models for the endpoint the command line chose."""
        settings = self.settings
        config = settings.llm_config()
        url = choice.base_url or config.base_url
        key = choice.api_key if choice.base_url and choice.base_url != config.base_url else config.api_key

        @contextlib.contextmanager
        def provide(names: list[str]) -> Iterator[dict[str, BaseChatModel]]:
            if url:
                endpoint = replace(config, base_url=url, api_key=key, max_concurrency=choice.concurrency)
                yield {name: chat_openai(endpoint, url, name) for name in names or [config.judge_model]}
                return
            path = resolve_model_path(settings.data_dir, settings.local_gguf)
            server = EmbeddedLLMServer(
                path, n_parallel=choice.concurrency, ctx_per_slot=settings.local_ctx_per_slot, n_threads=choice.threads
            )
            with server:
                embedded = replace(config, max_concurrency=choice.concurrency, timeout_s=EMBEDDED_EVAL_TIMEOUT_S)
                yield {path.stem: build_role_models(embedded, server.base_url).judge}  # the file name keys the cache

        return provide

    def embedder(self, spec: str) -> Embedder:
        """Build the baseline's embedder; an ``openai:`` one is served where every command's is."""
        return make_embedder(spec, self.settings.embedding_endpoint())
