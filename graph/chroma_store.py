"""The persistent Chroma store of a data directory: opening it, and the names and ids kept in it.

Shared by the topic memory (graph/memory.py) and the knowledge index (graph/knowledge.py).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import chromadb
from chromadb.api import ClientAPI
from chromadb.config import Settings

_SLUG_JUNK = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True, slots=True)
class Neighbor:
    """An accepted sample close to some text."""

    id: str
    text: str
    topic: str
    similarity: float


def open_client(data_dir: Path | str) -> ClientAPI:
    """Open (or create) the persistent Chroma store under ``data_dir/"chroma"``, telemetry off."""
    path = Path(data_dir) / "chroma"
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=Settings(anonymized_telemetry=False))


def _slug(text: str, limit: int = 40) -> str:
    """Return a lowercase ASCII ``[a-z0-9_]`` slug of ``text`` (may be empty)."""
    return _SLUG_JUNK.sub("_", text.lower()).strip("_")[:limit].strip("_")


def collection_name(workspace: str, style: str, embedder_name: str) -> str:
    """Return a Chroma-valid, collision-free collection name for (workspace, style, embedder).

    Chroma accepts 3-512 characters from ``[a-zA-Z0-9._-]`` starting and ending alphanumeric, so
    the readable part is an ASCII slug and a hash of the exact original names makes it unique
    (two workspaces that slug alike, e.g. Chinese names, still get different collections).
    """
    digest = hashlib.sha256("\0".join((workspace, style, embedder_name)).encode()).hexdigest()[:16]
    parts = [part for part in ("df", _slug(workspace), _slug(style)) if part]
    return "-".join([*parts, digest])


def topic_id(topic: str) -> str:
    """Return the id of a topic's entry in the topics collection (a hash of its exact text)."""
    return hashlib.sha256(topic.encode()).hexdigest()[:32]


def _similarities(distances: list[float]) -> list[float]:
    """Convert Chroma cosine distances (1 - cos) into similarities clipped to [-1, 1]."""
    return [max(-1.0, min(1.0, 1.0 - float(distance))) for distance in distances]


def neighbors_of(result: Any) -> list[Neighbor]:
    """The neighbours of the first query of a Chroma ``query`` result."""
    documents = (result["documents"] or [[]])[0]
    metadatas = (result["metadatas"] or [[]])[0]
    similarities = _similarities((result["distances"] or [[]])[0])
    return [
        Neighbor(id=sample_id, text=document or "", topic=str((meta or {}).get("topic", "")), similarity=sim)
        for sample_id, document, meta, sim in zip(result["ids"][0], documents, metadatas, similarities, strict=True)
    ]
