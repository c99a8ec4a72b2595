"""What the eval commands need from the outside: judge models and embedders, built by the caller.

The eval harness never reads settings nor starts servers itself: ``dialogforge eval`` passes a
runtime built from the same settings as every other command (``service/cli/eval_runtime.py``:
the judge role's endpoint, key and model by default; ``--base-url`` and ``--models`` override),
and tests pass their own.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from langchain_core.language_models import BaseChatModel

from agents.embeddings import Embedder, make_embedder

ModelProvider = Callable[[list[str]], AbstractContextManager[dict[str, BaseChatModel]]]
"""Given the requested model names (empty = the default judge model), yield ``{name: model}``."""


@dataclass(frozen=True)
class EndpointChoice:
    """What the command line asked about the endpoint (None: the configured one)."""

    base_url: str | None = None
    api_key: str | None = None
    threads: int | None = None
    concurrency: int = 4


class EvalRuntime(Protocol):
    """Builds the judge models and the baseline's embedder for an eval command."""

    def judge_models(self, choice: EndpointChoice) -> ModelProvider:
        """Return the provider of judge models for this endpoint choice."""
        ...

    def embedder(self, spec: str) -> Embedder:
        """Return the embedder named ``spec`` (``e5``, ``openai:<model>``, a sentence-transformers name)."""
        ...


@dataclass
class FixedRuntime:
    """A runtime around one given provider (tests, scripts); embedders need no endpoint."""

    provider: ModelProvider

    def judge_models(self, choice: EndpointChoice) -> ModelProvider:
        """Return the provider, whatever was asked."""
        return self.provider

    def embedder(self, spec: str) -> Embedder:
        """Build a local embedder."""
        return make_embedder(spec)
