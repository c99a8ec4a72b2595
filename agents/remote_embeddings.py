"""Embeddings from any OpenAI-compatible ``/v1/embeddings`` endpoint (OpenAI, vLLM, Ollama, TEI...).

With a hosted LLM at high concurrency, the bundled e5 model becomes the bottleneck on a small
machine (benchmarks/README.md: it needs the whole of 2 cores at ~50 texts/s). This backend moves
the embedding work to a server. Selected by ``DIALOGFORGE_EMBEDDER=openai:<model>``; the endpoint
is ``DIALOGFORGE_EMBEDDINGS_BASE_URL`` (default: the LLM's base URL) with its own key.

It uses the official ``openai`` client (already installed with langchain-openai): its retries
(exponential backoff with jitter on 429/5xx/timeouts, honouring Retry-After) apply here too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import numpy as np
import openai

from agents.embeddings import REMOTE_PREFIX, EmbedderUnavailableError, normalize_rows

PLACEHOLDER_KEY = "sk-none"  # servers without auth (vLLM, Ollama) accept any key; the client wants one
MAX_TEXTS_PER_CALL = 256  # below every provider's per-request input limit (OpenAI: 2048)


@dataclass(frozen=True)
class EmbeddingEndpoint:
    """Where a remote embedding model is served."""

    base_url: str | None
    api_key: str | None = None
    timeout_s: float = 60.0
    max_retries: int = 5

    @classmethod
    def choose(
        cls,
        own: tuple[str | None, str | None],
        llm: tuple[str | None, str | None],
        timeout_s: float = 60.0,
        max_retries: int = 5,
    ) -> EmbeddingEndpoint:
        """Pick the endpoint from the embeddings ``(url, key)`` and the LLM's.

        The embeddings URL if set, with its own key only: a separate URL never receives the LLM's
        key. Else the LLM's URL, with the embeddings key if one is set, else the LLM's.
        """
        (own_url, own_key), (llm_url, llm_key) = own, llm
        if own_url:
            return cls(own_url, own_key or None, timeout_s, max_retries)
        return cls(llm_url or None, own_key or llm_key or None, timeout_s, max_retries)

    def __repr__(self) -> str:
        """Show the URL, never the key."""
        return f"EmbeddingEndpoint(base_url={self.base_url!r}, api_key={'***' if self.api_key else None})"


class OpenAIEmbedder:
    """Embed with a model behind an OpenAI-compatible ``/v1/embeddings`` endpoint.

    The dimension is learnt from one probe call at construction, which also fails fast (with the
    URL, never the key) when the endpoint is unreachable, refuses the key or lacks the model.
    """

    dim: int
    parallel_calls = 8  # batches CachingEmbedder may send at once: a round trip is mostly waiting

    def __init__(self, model: str, endpoint: EmbeddingEndpoint) -> None:
        """Connect and probe the model once.

        Raises:
            EmbedderUnavailableError: no base URL, or the probe call failed.
        """
        if not model.strip():
            raise EmbedderUnavailableError("embedder 'openai:' needs a model name, e.g. openai:text-embedding-3-small")
        if not endpoint.base_url:
            raise EmbedderUnavailableError(
                f"embedder 'openai:{model}' needs an endpoint: set DIALOGFORGE_EMBEDDINGS_BASE_URL "
                "(or DIALOGFORGE_LLM_BASE_URL)"
            )
        self.model = model.strip()
        self.url = f"{endpoint.base_url.rstrip('/')}/embeddings"
        self._client = openai.OpenAI(
            base_url=endpoint.base_url,
            api_key=endpoint.api_key or PLACEHOLDER_KEY,
            timeout=endpoint.timeout_s,
            max_retries=endpoint.max_retries,
        )
        self.name = f"{REMOTE_PREFIX}{self.model}@{_host(endpoint.base_url)}"  # memory is kept per name
        try:
            probe = self._call(["dimension probe"])
        except openai.OpenAIError as exc:
            raise EmbedderUnavailableError(f"cannot embed with {self.model!r} at {self.url}: {_reason(exc)}") from None
        self.dim = int(probe.shape[1])

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Return one unit row per text, shape ``(len(texts), dim)``, in the order given.

        Raises:
            EmbedderUnavailableError: the endpoint failed after its retries, or answered with the
                wrong number or size of vectors.
        """
        items = list(texts)
        if not items:
            return np.empty((0, self.dim), dtype=np.float32)
        parts = []
        for start in range(0, len(items), MAX_TEXTS_PER_CALL):
            try:
                parts.append(self._call(items[start : start + MAX_TEXTS_PER_CALL]))
            except openai.OpenAIError as exc:
                raise EmbedderUnavailableError(f"embedding at {self.url} failed: {_reason(exc)}") from None
        vectors = np.concatenate(parts)
        if vectors.shape[1] != self.dim:
            raise EmbedderUnavailableError(f"{self.url} returned {vectors.shape[1]}-dim vectors, expected {self.dim}")
        return vectors

    def _call(self, batch: list[str]) -> np.ndarray:
        """One request; rows put back in input order (the API tags each with its index)."""
        answer = self._client.embeddings.create(model=self.model, input=batch, encoding_format="float")
        rows = sorted(answer.data, key=lambda item: item.index)
        if len(rows) != len(batch) or not rows:
            raise EmbedderUnavailableError(f"{self.url} returned {len(rows)} vectors for {len(batch)} texts")
        try:
            matrix = np.asarray([row.embedding for row in rows], dtype=np.float32)
        except ValueError:
            raise EmbedderUnavailableError(f"{self.url} returned vectors of different sizes") from None
        return normalize_rows(matrix)


def _host(base_url: str) -> str:
    """``host[:port]`` of a URL, without any credentials written into it."""
    parts = urlsplit(base_url)
    return f"{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}"


def _reason(exc: openai.OpenAIError) -> str:
    """A one-line cause. The server's own message is left out: some echo part of the key."""
    if isinstance(exc, openai.APIStatusError):
        refused, unknown = " (the API key was refused)", " (is the model name right?)"
        hint = {401: refused, 403: refused, 404: unknown}.get(exc.status_code, "")
        return f"HTTP {exc.status_code}{hint}"
    return type(exc).__name__
