"""The topic planner: ready before the first sample, brainstormed topics embedded off the pick path."""

from __future__ import annotations

import asyncio
from pathlib import Path

from agents.embedding_cache import CachingEmbedder
from graph.memory import TopicMemory
from graph.topic_planner import TopicPlanner
from tests.fakes import RecordingEmbedder, fake_role_models
from tests.graph.loop_support import GENTLE, Script


def planner_on(
    tmp_path: Path,
    topics: list[str],
    *,
    inner: RecordingEmbedder | None = None,
    brainstorms: bool = True,
    batch_size: int = 5,
) -> tuple[TopicPlanner, RecordingEmbedder]:
    """A planner over ``topics`` with a fresh memory; ``brainstorms=False`` gives it no model."""
    inner = inner or RecordingEmbedder()
    memory = TopicMemory(tmp_path, "ws", "gentle", CachingEmbedder(inner))
    pack = GENTLE.model_copy(update={"topics": topics})
    model = fake_role_models(Script()).topics if brainstorms else None
    return TopicPlanner(pack, memory, model, batch_size=batch_size), inner


async def test_prepare_embeds_listed_topics_and_starts_brainstorming(tmp_path: Path) -> None:
    planner, inner = planner_on(tmp_path, ["下雨天没带伞", "养的猫生病了"])
    planner.plan_for(4)  # wants 8 candidates: the 2 listed are too few
    await planner.prepare()
    assert inner.seen == ["下雨天没带伞", "养的猫生病了"]
    assert planner._refills, "a brainstorm must be under way before the first sample asks"
    await asyncio.wait(planner._refills)
    brainstormed = [topic for topic in planner._pool if topic not in GENTLE.topics]
    assert len(brainstormed) >= 5
    assert set(brainstormed) <= set(inner.seen), "brainstormed topics are embedded as they arrive"

    ready = set(inner.seen)
    topics = [await planner.next_topic(f"s{index}") for index in range(4)]
    assert len(set(topics)) == 4
    assert set(topics) <= ready, "picked topics were embedded before anyone asked for them"
    assert len(inner.seen) == len(set(inner.seen)), "nothing is embedded twice"
    await planner.close()


async def test_prepare_without_a_model_keeps_the_listed_topics(tmp_path: Path) -> None:
    planner, _ = planner_on(tmp_path, ["a", "b"], brainstorms=False)
    await planner.prepare()
    assert not planner._refills
    assert {await planner.next_topic("s1"), await planner.next_topic("s2")} == {"a", "b"}


async def test_topics_accepted_by_an_earlier_job_are_the_last_resort(tmp_path: Path) -> None:
    planner, _ = planner_on(tmp_path, ["下雨天没带伞", "养的猫生病了"], batch_size=3)
    planner.memory.add_accepted("old", "下雨天忘了带伞，淋湿了", "下雨天没带伞", "job-1")
    planner.plan_for(1)
    await planner.prepare()
    assert planner._pool == ["养的猫生病了"]
    handed = [await planner.next_topic(f"s{index}") for index in range(4)]
    assert "下雨天没带伞" not in handed, "brainstormed topics come before one an earlier job covered"
    await planner.close()

    without_model = TopicPlanner(planner.pack, planner.memory, None)
    await without_model.prepare()
    first, second = await without_model.next_topic("a"), await without_model.next_topic("b")
    assert (first, second) == ("养的猫生病了", "下雨天没带伞"), "with nothing new left, a covered topic is reused"


async def test_an_embedder_failing_during_a_brainstorm_fails_the_brainstorm_not_the_job(tmp_path: Path) -> None:
    class GoneAfterStart(RecordingEmbedder):
        def embed(self, texts):  # type: ignore[no-untyped-def]
            if self.seen:  # the listed topics were embedded; then the endpoint went away
                raise ConnectionError("embedding endpoint gone")
            return super().embed(texts)

    planner, _ = planner_on(tmp_path, ["下雨天没带伞", "养的猫生病了"], inner=GoneAfterStart())
    planner.plan_for(4)
    await planner.prepare()
    await asyncio.wait(planner._refills)
    assert planner._failed_brainstorms == len(planner._refills) >= 1
    assert sorted(planner._pool) == sorted(planner.pack.topics)  # nothing unembedded entered the pool
    await planner.close()  # used to re-raise the brainstorm's error and end the job without its samples


async def test_an_llm_failing_during_a_brainstorm_fails_the_brainstorm_not_the_job(tmp_path: Path) -> None:
    from tests.fakes import ScriptedChatModel

    def refuse(messages, options):  # type: ignore[no-untyped-def]
        raise RuntimeError("429 after the client's retries")

    planner, _ = planner_on(tmp_path, ["下雨天没带伞"], brainstorms=False)
    planner.model = ScriptedChatModel(responder=refuse)
    planner.plan_for(4)
    await planner.prepare()
    await asyncio.wait(planner._refills)
    assert all(task.exception() is None for task in planner._refills)  # no "exception never retrieved"
    assert planner._failed_brainstorms == len(planner._refills) >= 1
    await planner.close()


async def test_refills_are_sized_to_the_samples_still_to_start(tmp_path: Path) -> None:
    planner, _ = planner_on(tmp_path, ["下雨天没带伞"], batch_size=5)
    planner.plan_for(32)  # 64 candidates wanted for 32 samples in flight...
    left = [2]
    planner.size_to(lambda: left[0])  # ...but only 2 samples are still to start
    await planner.prepare()
    assert len(planner._refills) == 1, "one batch covers 2 x 2 + 1 candidates"
    await asyncio.wait(planner._refills)
    left[0] = 0
    pool = len(planner._pool)
    await planner.next_topic("s1")
    assert all(task.done() for task in planner._refills), "nothing more is brainstormed"
    assert len(planner._pool) == pool - 1
    await planner.close()
