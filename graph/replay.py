"""Replay each sample's plan by its number, so a resumed job or a rerun makes the same calls again.

A sample's prompts follow from its plan (topic and "already covered" list), and the plan follows
from what the memory held when the sample started, which depends on how concurrent samples
happened to interleave. So the plan of sample number ``k`` under a job seed is recorded in the
call cache; a later sample ``k`` under the same seed and style (a resumed job, or the same command
again in a fresh workspace) takes the same plan when its topic is still free, and its calls are
then served from the cache. A resumed job also skips the numbers it already finished.
"""

from __future__ import annotations

import asyncio
from typing import Any

from agents.call_cache import CallCache, call_key
from agents.styles import StylePack


class PlanJournal:
    """The recorded plans of one (style, seed), and the sample numbers one job finished."""

    def __init__(self, cache: CallCache, pack: StylePack, seed: int, job_id: str) -> None:
        """Bind the journal to a style pack, a job seed and a job."""
        self.cache, self.job_id = cache, job_id
        self.scope = call_key(kind="plans", style=pack.digest(), seed=seed)

    def finished(self) -> set[int]:
        """Return the sample numbers this job already finished (a resumed job skips them)."""
        return self.cache.finished(self.scope, self.job_id)

    async def replay(self, ordinal: int) -> dict[str, Any] | None:
        """Return the plan recorded for sample ``ordinal``, or None."""
        return await asyncio.to_thread(self.cache.plan, self.scope, ordinal)

    async def record(self, ordinal: int, plan: dict[str, Any]) -> None:
        """Record the plan of sample ``ordinal`` (the first one recorded stays)."""
        await asyncio.to_thread(self.cache.record_plan, self.scope, ordinal, plan)

    async def finish(self, ordinal: int) -> None:
        """Record that this job finished sample ``ordinal``."""
        await asyncio.to_thread(self.cache.finish, self.scope, self.job_id, ordinal)
