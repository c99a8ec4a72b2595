"""Plan the next sample's topic: brainstormed or listed candidates, farthest from what is covered."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import Callable, Sequence

from langchain_core.language_models import BaseChatModel

from agents.call_scope import CallScope, current_scope, derive_seed
from agents.schemas import TokenUsage
from agents.styles import StylePack
from agents.topics import brainstorm_topics
from graph.memory import TopicMemory

logger = logging.getLogger(__name__)

MAX_PARALLEL_BRAINSTORMS = 4
FALLBACK_TOPIC = "anything this user might plausibly bring up that is not covered yet"


class TopicPlanner:
    """Keep a pool of candidate topics for one job and hand out the least covered one.

    Candidates come from the style pack's ``topics`` and from LLM brainstorms in batches; the
    memory picks the candidate farthest from every accepted sample and every topic in flight, and
    reserves it until the sample finishes. A candidate that is already the topic of an accepted
    sample in this workspace (an earlier job used it) is set aside: it is handed out only when no
    other candidate is left.
    """

    def __init__(
        self,
        pack: StylePack,
        memory: TopicMemory,
        model: BaseChatModel | None,
        *,
        batch_size: int = 12,
        min_pool: int = 8,
        max_failed_brainstorms: int = 6,
        extra_topics: Sequence[str] = (),
    ) -> None:
        """Start with the pack's listed topics (and ``extra_topics``, e.g. a knowledge set's headings) as the pool."""
        self.pack, self.memory, self.model = pack, memory, model
        self.batch_size, self.min_pool = batch_size, min_pool
        self.max_failed_brainstorms = max_failed_brainstorms
        self.usage = TokenUsage()
        self._pool: list[str] = list(dict.fromkeys([*pack.topics, *extra_topics]))
        self._used: list[str] = []
        self._covered: list[str] = []  # accepted in this workspace before: the last resort
        self._reserved_by: dict[str, str] = {}
        self._failed_brainstorms = 0
        self._lock = asyncio.Lock()
        self._refills: set[asyncio.Task[None]] = set()
        self._seed: int | None = None
        self._brainstorms_started = 0
        self._to_start: Callable[[], int] | None = None

    async def _brainstorm(self) -> None:
        """Add one batch of new candidates; count failures so a broken model cannot loop forever."""
        if self.model is None or self._failed_brainstorms >= self.max_failed_brainstorms:
            return
        try:  # an LLM that fails after its retries (429s, 5xx) fails this brainstorm, never the job
            topics, usage, error = await brainstorm_topics(
                self.model, self.pack, self._covered + self._used + self._pool, self.batch_size
            )
        except Exception as exc:
            topics, usage, error = [], TokenUsage(), f"{type(exc).__name__}: {exc}"
        self.usage = self.usage + usage
        fresh = [topic for topic in dict.fromkeys(topics) if topic not in self._pool and topic not in self._covered]
        try:  # a failing memory or embedder fails this brainstorm, never the job
            fresh = await self._set_aside_covered(fresh) if fresh and not error else []
            if fresh:  # embedded off the pick path: picks find them cached
                await asyncio.to_thread(self.memory.embedder.embed, fresh)
        except Exception as exc:
            error, fresh = f"{type(exc).__name__}: {exc}", []
        if error or not fresh:  # a model that only repeats known topics counts as failing too
            self._failed_brainstorms += 1
            logger.warning("topic brainstorm gave nothing usable: %s", error or "no new topics")
            return
        self._failed_brainstorms = 0
        self._pool.extend(topic for topic in fresh if topic not in self._pool)

    def use_seed(self, seed: int) -> None:
        """Number the brainstorms under the job's seed, so their calls are cached like a sample's."""
        self._seed = seed

    def _brainstorm_context(self) -> contextvars.Context:
        """A context of the brainstorm's own, never the scope of the sample that triggered it."""
        context = contextvars.copy_context()
        scope = None
        if self._seed is not None:
            scope = CallScope(derive_seed(self._seed, "brainstorm", self._brainstorms_started))
        self._brainstorms_started += 1
        context.run(current_scope.set, scope)
        return context

    def plan_for(self, concurrency: int) -> None:
        """Keep enough candidates for ``concurrency`` samples in flight (two each, to choose from)."""
        self.min_pool = max(self.min_pool, 2 * concurrency)

    def size_to(self, to_start: Callable[[], int]) -> None:
        """Keep no more candidates than the samples still to start can use (``to_start()`` of them).

        Without it the pool is kept at ``min_pool`` to the end, and the last brainstorms' topics
        (each embedded as it arrives) go unused.
        """
        self._to_start = to_start

    def _wanted(self) -> int:
        """Candidates to keep: ``min_pool``, or two for each sample still to start (and the one asking)."""
        if self._to_start is None:
            return self.min_pool
        return min(self.min_pool, 2 * max(self._to_start(), 0) + 1)

    async def _set_aside_covered(self, topics: list[str]) -> list[str]:
        """Move the topics an earlier sample in this workspace was accepted on to the last resort."""
        covered = await self.memory.aaccepted_topics_among(topics)
        self._covered.extend(topic for topic in topics if topic in covered)
        return [topic for topic in topics if topic not in covered]

    async def prepare(self) -> None:
        """Get ready before the first sample asks: set covered topics aside, embed the rest, brainstorm."""
        async with self._lock:
            self._pool = await self._set_aside_covered(self._pool)
            await asyncio.to_thread(self.memory.embedder.embed, list(self._pool))
            if len(self._pool) < self._wanted():
                self._start_refills()

    def _start_refills(self) -> None:
        """Brainstorm more candidates in the background: enough parallel batches to refill the pool."""
        exhausted = self.model is None or self._failed_brainstorms >= self.max_failed_brainstorms
        self._refills = {task for task in self._refills if not task.done()}
        deficit = self._wanted() - len(self._pool) - self.batch_size * len(self._refills)
        wanted = min(MAX_PARALLEL_BRAINSTORMS - len(self._refills), -(-deficit // self.batch_size))
        for _ in range(0 if exhausted else max(0, wanted)):
            self._refills.add(asyncio.create_task(self._brainstorm(), context=self._brainstorm_context()))

    async def next_topic(self, sample_id: str) -> str:
        """Return (and reserve for ``sample_id``) the candidate farthest from what is covered or in flight.

        The pool is refilled in the background when it runs low, so samples wait for a brainstorm
        only when no candidate is left at all.
        """
        async with self._lock:
            if len(self._pool) < self._wanted():
                self._start_refills()
            if not self._pool and self._refills:
                await asyncio.wait(self._refills, return_when=asyncio.FIRST_COMPLETED)
            if not self._pool and self._covered:  # nothing new came in time: reuse, farthest first
                self._pool, self._covered = self._covered, []
            if not self._pool:
                return FALLBACK_TOPIC
            topic = await self.memory.apick_topic(list(self._pool), reserve=True)
            self._pool.remove(topic)
            self._used.append(topic)
            self._reserved_by[sample_id] = topic
            return topic

    async def take(self, sample_id: str, topic: str) -> bool:
        """Reserve ``topic`` (a replayed plan's) for ``sample_id``; False if it is covered or in flight."""
        async with self._lock:
            if topic in self.memory.reserved() or await self.memory.aaccepted_topics_among([topic]):
                return False
            await self.memory.areserve(topic)
            if topic in self._pool:
                self._pool.remove(topic)
            self._used.append(topic)
            self._reserved_by[sample_id] = topic
            return True

    async def close(self) -> None:
        """Stop brainstorms still running when the job ends."""
        for task in self._refills:
            task.cancel()
        for task in self._refills:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._refills.clear()

    def release_for(self, sample_id: str) -> None:
        """Release the topic reserved for a sample once it is accepted, rejected or failed."""
        topic = self._reserved_by.pop(sample_id, None)
        if topic is not None:
            self.memory.release(topic)
