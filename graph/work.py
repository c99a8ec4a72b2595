"""Where a job's samples come from: a work source hands the runner one item per sample it starts.

Generation draws topics from the planner (:class:`TopicSource`). Augmentation draws the rows
of a data set version from its own source (``graph.augment.source.RowSource``: rows page by
page, and the children each row still owes), because its unit of work is a parent with its
children made in turn, not one sample. The generation runner asks for an item after it has
claimed a slot, starts the sample's graph with the item's fields in its initial state, and tells
the source when the sample finished, accepted or not. A source that has nothing left returns
None: the runner stops starting samples (stop reason ``exhausted``) and lets the ones in flight
finish.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from agents.schemas import Sample, TokenUsage
from graph.state import SampleState
from graph.topic_planner import TopicPlanner


@dataclass(frozen=True)
class WorkItem:
    """What one sample starts from.

    Attributes:
        fields: Added to the sample graph's initial state (``topic`` today; an augmentation
            source adds the parent row's fields).
        parent_id: The id of the row this sample is made from (None for generation).
    """

    fields: SampleState = field(default_factory=lambda: SampleState())
    parent_id: str | None = None


class WorkSource(Protocol):
    """Hands out the work of one job; one instance per job run."""

    @property
    def usage(self) -> TokenUsage:
        """Return the LLM calls the source itself made (e.g. topic brainstorms)."""
        ...

    def plan_for(self, concurrency: int) -> None:
        """Get ready to serve ``concurrency`` samples in flight at once."""
        ...

    def restore(self, finished: Sequence[Sample]) -> None:
        """Take into account the samples an earlier run of this job already finished."""
        ...

    async def prepare(self) -> None:
        """Do the slow set-up before the first item is asked for."""
        ...

    async def next_item(self, sample_id: str) -> WorkItem | None:
        """Return the work of the sample ``sample_id`` is about to start, or None when nothing is left."""
        ...

    def release(self, sample_id: str, sample: Sample | None) -> None:
        """Record that the sample finished (``sample`` is None when it never ran)."""
        ...

    async def close(self) -> None:
        """Stop background work when the job ends."""
        ...


class TopicSource:
    """Generation's work: the least covered topic from the planner, or one fixed topic for every sample."""

    def __init__(self, planner: TopicPlanner, topic: str | None = None) -> None:
        """Serve ``planner``'s topics, or ``topic`` for every sample when it is given."""
        self.planner, self.topic = planner, topic

    @property
    def usage(self) -> TokenUsage:
        """Return the planner's brainstorm calls."""
        return self.planner.usage

    def plan_for(self, concurrency: int) -> None:
        """Keep enough candidate topics for ``concurrency`` samples in flight."""
        self.planner.plan_for(concurrency)

    def restore(self, finished: Sequence[Sample]) -> None:
        """Nothing to do: the workspace memory already holds the accepted samples' topics."""

    async def prepare(self) -> None:
        """Set covered topics aside, embed the candidates and start the first brainstorms."""
        await self.planner.prepare()

    async def next_item(self, sample_id: str) -> WorkItem:
        """Return the fixed topic, or no topic: the graph's first node then reserves the planner's.

        The planner's topic is picked in the graph (``SampleNodes.plan_topic``) because a sample
        number with a recorded plan replays it there (graph/replay.py), so a resumed job makes the
        calls it already paid for again from the call cache.
        """
        return WorkItem(fields={"topic": self.topic} if self.topic else SampleState())

    def release(self, sample_id: str, sample: Sample | None) -> None:
        """Free the topic reserved for the sample."""
        self.planner.release_for(sample_id)

    async def close(self) -> None:
        """Stop brainstorms still running."""
        await self.planner.close()
