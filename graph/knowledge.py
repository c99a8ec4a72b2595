"""Knowledge index: one knowledge set's passages in its own persistent Chroma collection.

A knowledge set has a name (``card-rules``) and one Chroma collection per (name, embedder), next
to the topic memory in the data directory. Every passage entry records the file it came from
and that file's SHA-256, so indexing again re-embeds only files whose hash changed (and drops
the passages of files that are gone); an unchanged set costs no embedding at all. Embeddings
always come from our embedder (Chroma's own, which downloads a model, is never used).
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection

from agents.embeddings import Embedder
from agents.knowledge.chunking import chunk_document
from agents.knowledge.passage import Passage
from agents.knowledge.readers import KnowledgeError, file_digest, list_files, read_bytes, read_document
from agents.styles import StylePack
from graph.chroma_store import _similarities, _slug

KIND = "knowledge"
MAX_PASSAGES = 50_000
MAX_TOP_K = 10


@dataclass
class IndexReport:
    """What one indexing pass did."""

    name: str
    files: int = 0
    indexed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    passages: int = 0

    def line(self) -> str:
        """Describe the pass in one line."""
        return (
            f"knowledge {self.name}: {self.passages} passages from {self.files} files "
            f"({len(self.indexed)} indexed, {len(self.unchanged)} unchanged, {len(self.removed)} removed)"
        )


@dataclass(frozen=True)
class Hit:
    """A retrieved passage and its cosine similarity to the query."""

    passage: Passage
    similarity: float


def knowledge_collection_name(name: str, embedder_name: str) -> str:
    """Return the Chroma collection name of a knowledge set (a readable slug plus a hash of both names)."""
    digest = hashlib.sha256(f"{name}\0{embedder_name}".encode()).hexdigest()[:16]
    return "-".join(part for part in ("kn", _slug(name), digest) if part)


def validate_name(name: str) -> str:
    """Check a knowledge set's name: 1-64 characters, no path separators."""
    cleaned = name.strip()
    if not cleaned or len(cleaned) > 64 or "/" in cleaned or "\\" in cleaned:
        raise KnowledgeError(f"bad knowledge name {name!r}: use 1-64 characters without slashes")
    return cleaned


class KnowledgeIndex:
    """The passages of one knowledge set, indexed by file hash, searchable by meaning."""

    def __init__(self, client: ClientAPI, name: str, embedder: Embedder) -> None:
        """Open (or create) the set's collection."""
        self.name = validate_name(name)
        self.embedder = embedder
        self._lock = threading.RLock()
        self._collection: Collection = client.get_or_create_collection(
            knowledge_collection_name(self.name, embedder.name),
            configuration={"hnsw": {"space": "cosine"}},
            metadata={"kind": KIND, "name": self.name, "embedder": embedder.name, "dim": embedder.dim},
            embedding_function=None,
        )

    # ------------------------------------------------------------------ writes

    def _stored_hashes(self) -> dict[str, str]:
        result = self._collection.get(include=["metadatas"])
        return {str(meta["source"]): str(meta["sha256"]) for meta in result["metadatas"] or [] if meta}

    def index(self, root: Path) -> IndexReport:
        """Bring the index up to date with the files at ``root`` (a file or a folder).

        Raises:
            KnowledgeError: a file is missing, unreadable or of an unknown kind, or the set holds
                no passage after chunking.
        """
        files = list_files(root)
        base = root if root.is_dir() else root.parent
        report = IndexReport(self.name, files=len(files))
        with self._lock:
            stored = self._stored_hashes()
            current: set[str] = set()
            for path in files:
                source = path.relative_to(base).as_posix()
                current.add(source)
                data = read_bytes(path, source)
                if stored.get(source) == file_digest(data):
                    report.unchanged.append(source)
                    continue
                self._replace(source, chunk_document(read_document(path, source, data)), file_digest(data))
                report.indexed.append(source)
            for source in sorted(set(stored) - current):
                self._collection.delete(where={"source": source})
                report.removed.append(source)
            report.passages = self._collection.count()
        if report.passages == 0:
            raise KnowledgeError(f"knowledge set {self.name} is empty after chunking: {root} holds no text")
        return report

    def _replace(self, source: str, passages: list[Passage], sha256: str) -> None:
        self._collection.delete(where={"source": source})
        if not passages:
            return
        if self._collection.count() + len(passages) > MAX_PASSAGES:
            raise KnowledgeError(f"knowledge set {self.name} would exceed {MAX_PASSAGES} passages")
        metadatas: list[Any] = [
            {"source": source, "sha256": sha256, "title": passage.title, "n": index}
            for index, passage in enumerate(passages)
        ]
        vectors = self.embedder.embed([passage.text for passage in passages])
        self._collection.add(
            ids=[passage.id for passage in passages],
            embeddings=vectors,
            documents=[passage.text for passage in passages],
            metadatas=metadatas,
        )

    # ------------------------------------------------------------------- reads

    def count(self) -> int:
        """Return how many passages the set holds."""
        with self._lock:
            return self._collection.count()

    def search(self, query: str, k: int = 3) -> list[Hit]:
        """Return the ``k`` passages nearest ``query`` in meaning, most similar first."""
        k = max(1, min(MAX_TOP_K, k))
        vector = self.embedder.embed([query])
        with self._lock:
            size = self._collection.count()
            if size == 0:
                return []
            result = self._collection.query(
                query_embeddings=vector, n_results=min(k, size), include=["documents", "metadatas", "distances"]
            )
        documents = (result["documents"] or [[]])[0]
        metadatas = (result["metadatas"] or [[]])[0]
        similarities = _similarities((result["distances"] or [[]])[0])
        return [
            Hit(Passage(pid, document or "", str(meta.get("source", "")), str(meta.get("title", ""))), sim)
            for pid, document, meta, sim in zip(result["ids"][0], documents, metadatas, similarities, strict=True)
        ]

    def get(self, ids: list[str]) -> list[Passage]:
        """Return the passages with these ids (unknown ids are left out), in the order asked."""
        with self._lock:
            result = self._collection.get(ids=ids, include=["documents", "metadatas"])
        found = {
            pid: Passage(pid, document or "", str((meta or {}).get("source", "")), str((meta or {}).get("title", "")))
            for pid, document, meta in zip(
                result["ids"], result["documents"] or [], result["metadatas"] or [], strict=True
            )
        }
        return [found[pid] for pid in ids if pid in found]

    def titles(self) -> list[str]:
        """Return the distinct headings and questions of the set (candidate topics), in file order."""
        with self._lock:
            result = self._collection.get(include=["metadatas"])
        rows = sorted(
            (str(m["source"]), int(str(m["n"])), str(m.get("title", ""))) for m in result["metadatas"] or [] if m
        )
        return list(dict.fromkeys(title.rsplit(" > ", 1)[-1] for _, _, title in rows if title))

    async def asearch(self, query: str, k: int = 3) -> list[Hit]:
        """Run :meth:`search` in a worker thread."""
        return await asyncio.to_thread(self.search, query, k)


def knowledge_names(client: ClientAPI) -> list[str]:
    """Return the names of the knowledge sets indexed in this data directory (empty ones left out)."""
    names = set()
    for collection in client.list_collections():
        metadata = collection.metadata or {}
        if metadata.get("kind") == KIND and collection.count():
            names.add(str(metadata.get("name", collection.name)))
    return sorted(names)


def index_path(client: ClientAPI, name: str, embedder: Embedder, path: Path) -> tuple[KnowledgeIndex, IndexReport]:
    """Index ``path`` into the set ``name``; the files are checked before any collection is made."""
    list_files(path)  # a missing or foreign path fails here, leaving no empty set behind
    index = KnowledgeIndex(client, name, embedder)
    return index, index.index(path)


@dataclass(frozen=True)
class Grounding:
    """How a job's samples are grounded: the index, passages per sample, whether citing is required."""

    index: KnowledgeIndex
    top_k: int = 3
    required: bool = True


def default_name(path: Path) -> str:
    """Return the default name of a knowledge set indexed from ``path``: its folder or file name."""
    resolved = path.resolve()
    return validate_name(resolved.stem if resolved.is_file() else resolved.name)


def open_named(client: ClientAPI, name: str, embedder: Embedder) -> KnowledgeIndex:
    """Open an indexed set by name; an unknown (or empty) set is an error listing the indexed ones."""
    check_source(client, validate_name(name))
    return KnowledgeIndex(client, name, embedder)


def source_path(source: str) -> Path | None:
    """Tell a knowledge source's kind: a path (returned) or the name of an indexed set (None).

    Raises:
        KnowledgeError: it looks like a path (a slash or a file suffix) but does not exist.
    """
    path = Path(source).expanduser()
    if path.exists():
        return path
    if "/" in source or "\\" in source or path.suffix:
        raise KnowledgeError(f"knowledge file not found: {source}")
    return None


def check_source(client: ClientAPI, source: str) -> None:
    """Check a ``--knowledge`` value before any work: its files exist, or it names an indexed set."""
    path = source_path(source)
    if path is not None:
        list_files(path)
    elif validate_name(source) not in knowledge_names(client):
        known = ", ".join(knowledge_names(client)) or "none yet"
        raise KnowledgeError(
            f"unknown knowledge set {source!r} (indexed: {known}); index it with dialogforge knowledge index"
        )


def resolve_grounding(
    client: ClientAPI, embedder: Embedder, pack: StylePack, source: str | None = None
) -> tuple[Grounding | None, IndexReport | None]:
    """Find (and bring up to date) the knowledge a job is grounded in.

    Args:
        client: The data directory's Chroma client.
        embedder: The configured embedder.
        pack: The style pack (its ``knowledge`` spec applies when ``source`` is None).
        source: A knowledge file or folder to index, or the name of an indexed set
            (``generate --knowledge``); it overrides the pack's own.

    Returns:
        The grounding (None when neither names knowledge) and the indexing report (None when
        nothing was indexed, i.e. an indexed set was named).
    """
    spec = pack.knowledge
    required = spec.grounding == "required" if spec else True
    top_k = spec.top_k if spec else 3
    path = source_path(source) if source else None
    if source is None and spec is not None:
        path = pack.knowledge_path()
        if path is None:
            return Grounding(open_named(client, spec.name or pack.name, embedder), top_k, required), None
    if path is None:
        if source is None:
            return None, None
        return Grounding(open_named(client, source, embedder), top_k, required), None
    name = (spec.name if spec and source is None and spec.name else None) or default_name(path)
    index, report = index_path(client, name, embedder, path)
    return Grounding(index, top_k, required), report
