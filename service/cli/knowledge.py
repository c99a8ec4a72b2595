"""``dialogforge knowledge``: index the user's documents into Chroma once, search them, list the sets.

    dialogforge knowledge index docs/card-rules/ --name card-rules
    dialogforge knowledge search card-rules "逾期90天以上怎么处理"
    dialogforge knowledge list

Indexing embeds with the configured embedder (``DIALOGFORGE_EMBEDDER``) into the data directory's
Chroma store; running it again re-embeds only the files whose hash changed. No LLM is started.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:
    from chromadb.api import ClientAPI

    from agents.embeddings import Embedder

knowledge_app = typer.Typer(help="Index and search knowledge sets (the documents samples are grounded in).")
console = Console(soft_wrap=True)


def _open() -> tuple[ClientAPI, Embedder]:
    """Build the embedder and open the Chroma store from the settings (what every command reads)."""
    from agents.embeddings import make_embedder
    from graph.memory import open_client
    from service.settings import Settings

    settings = Settings()
    embedder = make_embedder(settings.embedder, settings.embedding_endpoint())
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return open_client(settings.data_dir), embedder


@knowledge_app.command("index")
def index_command(
    path: Annotated[Path, typer.Argument(help="A knowledge file or folder (md, txt, html, pdf, json, jsonl, csv).")],
    name: Annotated[str | None, typer.Option(help="The set's name (default: the file or folder name).")] = None,
) -> None:
    """Chunk and embed a knowledge source into its own Chroma collection (only changed files again)."""
    from graph.knowledge import default_name, index_path

    client, embedder = _open()
    _, report = index_path(client, name or default_name(path), embedder, path)
    console.print(report.line())


@knowledge_app.command("search")
def search_command(
    name: Annotated[str, typer.Argument(help="The knowledge set's name.")],
    query: Annotated[str, typer.Argument(help="What to look for.")],
    k: Annotated[int, typer.Option("-k", help="How many passages (1-10).", min=1, max=10)] = 3,
) -> None:
    """Print the passages of a set nearest a query, with their ids and similarity."""
    from graph.knowledge import open_named

    client, embedder = _open()
    index = open_named(client, name, embedder)
    for hit in index.search(query, k):
        title = f" - {hit.passage.title}" if hit.passage.title else ""
        console.print(f"[bold]{hit.passage.id}[/bold] ({hit.similarity:.3f}){title}")
        console.print(f"  {hit.passage.text}")


@knowledge_app.command("list")
def list_command() -> None:
    """List the knowledge sets indexed in the data directory, with their passage counts."""
    from graph.knowledge import KnowledgeIndex, knowledge_names

    client, embedder = _open()
    names = knowledge_names(client)
    if not names:
        console.print("no knowledge sets yet: dialogforge knowledge index PATH --name NAME")
    for name in names:
        console.print(f"{name}: {KnowledgeIndex(client, name, embedder).count()} passages")
