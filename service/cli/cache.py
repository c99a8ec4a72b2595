"""``dialogforge cache stats | clear``: look at and empty the data directory's call cache."""

from __future__ import annotations

import re
import time
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:
    from agents.call_cache import CallCache

cache_app = typer.Typer(name="cache", help="The call cache: LLM answers and embeddings reused by reruns.")
console = Console()
_AGE = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}


def parse_age(text: str) -> float:
    """Seconds in ``30d``, ``12h``, ``90m``, ``2w`` or ``45s``.

    Raises:
        typer.BadParameter: any other form.
    """
    match = _AGE.match(text.strip().lower())
    if match is None:
        raise typer.BadParameter(f"{text!r} is not an age such as 30d, 12h, 90m, 2w or 45s", param_hint="--older-than")
    return float(match.group(1)) * _UNIT_S[match.group(2)]


def _open() -> CallCache:
    """Open the data directory's cache (imported here: ``--help`` stays fast)."""
    from agents.call_cache import CallCache
    from service.settings import Settings

    settings = Settings()
    return CallCache(settings.data_dir, settings.cache_max_mb * 1024 * 1024)


def _age(stamp: float | None) -> str:
    if stamp is None:
        return "-"
    days = (time.time() - stamp) / 86_400
    return f"{days:.1f} d" if days >= 1 else f"{days * 24:.1f} h"


@cache_app.command()
def stats() -> None:
    """Show what the cache holds: entries, size and age per kind."""
    cache = _open()
    try:
        rows = cache.stats()
        total = sum(row.bytes for row in rows)
        console.print(f"{cache.path}: {total / 1e6:.1f} MB of {cache.max_bytes / 1e6:.0f} MB", highlight=False)
        for row in rows:
            console.print(
                f"{row.kind}: {row.entries} entries, {row.bytes / 1e6:.2f} MB, "
                f"oldest {_age(row.oldest)}, newest {_age(row.newest)}",
                highlight=False,
            )
        if not rows:
            console.print("empty")
    finally:
        cache.close()


@cache_app.command()
def clear(
    older_than: Annotated[
        str | None, typer.Option("--older-than", help="Only entries stored longer ago than this (30d, 12h).")
    ] = None,
) -> None:
    """Delete every cached call (or those older than --older-than)."""
    age = parse_age(older_than) if older_than is not None else None
    cache = _open()
    try:
        removed = cache.clear(age)
    finally:
        cache.close()
    console.print(f"removed {removed} entries" + (f" older than {older_than}" if older_than else ""))
