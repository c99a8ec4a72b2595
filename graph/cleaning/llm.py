"""What the LLM operators (``refusals:rewrite``, ``judge``) are given: the loop's dependencies per style.

The service builds them (the models, the embedder and a memory workspace for the cleaning) and
passes them in; nothing here builds a client. ``LLMTools.deps(style)`` returns the
``graph.nodes.LoopDeps`` of one style pack: the same models, checks, judge and rewriter as
generation, so a rewritten refusal passes exactly the checks a generated sample does.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Protocol, TypeVar

if TYPE_CHECKING:
    from graph.nodes import LoopDeps

T = TypeVar("T")
R = TypeVar("R")


class LLMTools(Protocol):
    """The source of loop dependencies for the LLM operators of one cleaning run."""

    concurrency: int
    """Rows in flight at once across the LLM operators of one batch."""

    def deps(self, style: str, judge: str | None = None) -> LoopDeps:
        """Return the loop's dependencies for a style pack (name, alias or path) and judge prompt.

        Raises:
            graph.cleaning.registry.ChainError: The style or the judge prompt does not exist.
        """
        ...


async def bounded_map(items: Sequence[T], work: Callable[[T], Awaitable[R]], limit: int) -> list[R]:
    """Return ``work(item)`` for every item, in order, with at most ``limit`` in flight."""
    semaphore = asyncio.Semaphore(max(1, limit))

    async def one(item: T) -> R:
        async with semaphore:
            return await work(item)

    return list(await asyncio.gather(*(one(item) for item in items)))
