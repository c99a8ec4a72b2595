"""Tests for graph.memory.TopicMemory with the fake embedder and a Chroma store in tmp_path."""

from __future__ import annotations

import asyncio
import random
import re
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from agents.schemas import Lineage, Sample, Turn
from benchmarks.loopback import REPO
from graph.memory import Neighbor, TopicMemory, collection_name, open_client
from graph.memory_buffer import FLUSH_ITEMS
from tests.fakes import FakeEmbedder

CHROMA_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9._-]{1,510}[a-zA-Z0-9]$")


def make_memory(data_dir: Path, workspace: str = "ws", style: str = "gentle", seed: int = 0) -> TopicMemory:
    return TopicMemory(data_dir, workspace, style, FakeEmbedder(), rng=random.Random(seed))


@pytest.fixture
def memory(tmp_path: Path) -> TopicMemory:
    return make_memory(tmp_path)


def test_empty_memory(memory: TopicMemory) -> None:
    assert memory.count() == 0
    assert memory.accepted_user_texts() == []
    assert memory.nearest("anything", 3) == []
    assert memory.near_duplicate("anything", 0.0) is None


def test_add_nearest_and_near_duplicate(memory: TopicMemory) -> None:
    memory.add_accepted("s1", "my credit card annual fee is too high", "credit card fees", "job-1")
    memory.add_accepted("s2", "I cannot sleep before my exams", "exam stress", None)
    memory.add_accepted("s1", "my credit card annual fee is too high", "credit card fees", "job-1")  # idempotent
    assert memory.count() == 2
    assert sorted(memory.accepted_user_texts()) == sorted(
        ["my credit card annual fee is too high", "I cannot sleep before my exams"]
    )
    neighbors = memory.nearest("the annual fee on my credit card is too high", 2)
    assert [n.id for n in neighbors] == ["s1", "s2"]
    assert neighbors[0].topic == "credit card fees"
    assert neighbors[0].text == "my credit card annual fee is too high"
    assert 1.0 >= neighbors[0].similarity > neighbors[1].similarity >= -1.0
    assert memory.nearest("x", 10) and len(memory.nearest("x", 10)) == 2
    assert memory.nearest("x", 0) == []

    duplicate = memory.near_duplicate("My credit card annual fee is too high!", 0.9)
    assert isinstance(duplicate, Neighbor) and duplicate.id == "s1"
    assert memory.near_duplicate("the weather at the seaside is lovely today", 0.9) is None
    exact = memory.near_duplicate("I cannot sleep before my exams", 0.999)
    assert exact is not None and exact.similarity == pytest.approx(1.0, abs=1e-4)


def test_pick_topic_is_farthest_first(memory: TopicMemory) -> None:
    memory.add_accepted("s1", "my credit card annual fee is too high", "credit card annual fee", "j")
    candidates = ["credit card annual fee waiver", "a rainy holiday by the seaside"]
    assert memory.pick_topic(candidates) == "a rainy holiday by the seaside"
    with pytest.raises(ValueError):
        memory.pick_topic([])


def test_pick_topic_avoids_accepted_topics_not_only_user_texts(memory: TopicMemory) -> None:
    memory.add_accepted("s1", "zzz qqq", "lonely weekend evenings", "j")
    assert memory.pick_topic(["lonely weekend evenings", "bank transfer limits"]) == "bank transfer limits"


def test_pick_topic_ties_are_broken_by_the_injected_rng(tmp_path: Path) -> None:
    candidates = ["alpha", "bravo", "charlie", "delta"]
    picks = {make_memory(tmp_path, seed=seed).pick_topic(candidates) for seed in range(20)}
    assert len(picks) > 1  # an empty memory does not always return the first candidate
    first = make_memory(tmp_path, seed=7).pick_topic(candidates)
    assert all(make_memory(tmp_path, seed=7).pick_topic(candidates) == first for _ in range(3))


def test_reservations_steer_pick_topic_until_released(memory: TopicMemory) -> None:
    candidates = ["exam stress at school", "credit card annual fee"]
    memory.reserve("exam stress at school")
    assert memory.reserved() == ["exam stress at school"]
    assert memory.pick_topic(candidates) == "credit card annual fee"
    memory.reserve("credit card annual fee")
    memory.reserve("credit card annual fee")  # two in-flight samples on it
    assert memory.pick_topic(candidates) in candidates  # both in flight: a tie, broken by the rng
    memory.release("exam stress at school")
    assert memory.pick_topic(candidates) == "exam stress at school"
    memory.release("credit card annual fee")
    assert memory.reserved() == ["credit card annual fee"]  # still reserved once
    memory.release("credit card annual fee")
    memory.release("never reserved")  # no-op
    assert memory.reserved() == []


def test_pick_with_reserve_spreads_concurrent_pickers(memory: TopicMemory) -> None:
    candidates = ["exam stress", "credit card fee", "rainy seaside trip", "lost luggage at airport"]

    async def pick_many() -> list[str]:
        return list(await asyncio.gather(*(memory.apick_topic(candidates, reserve=True) for _ in range(4))))

    picks = asyncio.run(pick_many())
    assert sorted(picks) == sorted(candidates)
    assert memory.reserved() == sorted(candidates)


def test_async_variants(memory: TopicMemory) -> None:
    async def scenario() -> tuple[int, list[Neighbor], Neighbor | None, list[str]]:
        await memory.aadd_accepted("s1", "hello there friend", "greeting", "j")
        await memory.areserve("topic")
        memory.release("topic")
        return (
            await memory.acount(),
            await memory.anearest("hello there", 1),
            await memory.anear_duplicate("hello there friend", 0.99),
            await memory.aaccepted_user_texts(),
        )

    count, nearest, duplicate, texts = asyncio.run(scenario())
    assert count == 1 and nearest[0].id == "s1" and duplicate is not None and texts == ["hello there friend"]


def test_persistence_across_processes(tmp_path: Path) -> None:
    script = (
        "import random, sys; from pathlib import Path; from graph.memory import TopicMemory;"
        "from tests.fakes import FakeEmbedder;"
        "m = TopicMemory(Path(sys.argv[1]), '客服', 'gentle', FakeEmbedder(), rng=random.Random(0));"
        "m.add_accepted('s1', 'my credit card annual fee is too high', 'credit card annual fee', 'job-1'); m.flush()"
    )
    subprocess.run([sys.executable, "-c", script, str(tmp_path)], cwd=REPO, check=True, timeout=120)
    second = make_memory(tmp_path, workspace="客服")
    assert second.count() == 1
    assert second.near_duplicate("my credit card annual fee is too high", 0.99) is not None
    assert second.pick_topic(["credit card annual fee", "rainy seaside trip"]) == "rainy seaside trip"


def test_second_instance_in_process_sees_entries(tmp_path: Path) -> None:
    first = make_memory(tmp_path)
    first.add_accepted("s1", "hello", "greeting", None)
    first.flush()
    assert make_memory(tmp_path).count() == 1


def test_workspaces_and_styles_are_isolated(tmp_path: Path) -> None:
    written = make_memory(tmp_path, workspace="team-a")
    written.add_accepted("s1", "hello", "greeting", None)
    written.flush()
    assert make_memory(tmp_path, workspace="team-b").count() == 0
    assert make_memory(tmp_path, workspace="team-a", style="snarky").count() == 0
    assert make_memory(tmp_path, workspace="team-a").count() == 1


def test_non_ascii_names_are_distinct_and_kept_in_metadata(tmp_path: Path) -> None:
    first = make_memory(tmp_path, workspace="客服团队", style="温柔陪伴")
    second = make_memory(tmp_path, workspace="客服团队", style="毒舌朋友")
    first.add_accepted("s1", "你好呀", "问候", None)
    assert first.count() == 1 and second.count() == 0
    collections = {c.name: c for c in open_client(tmp_path).list_collections()}
    name = collection_name("客服团队", "温柔陪伴", FakeEmbedder.name)
    assert collections[name].metadata["workspace"] == "客服团队"
    assert collections[name].metadata["style"] == "温柔陪伴"


@pytest.mark.parametrize(
    ("workspace", "style"),
    [("客服", "温柔"), ("a", "b"), ("..", ".."), ("192.168.0.1", "x"), ("Team A!", "😀"), ("w" * 600, "s" * 600)],
)
def test_collection_names_follow_chroma_rules(workspace: str, style: str) -> None:
    name = collection_name(workspace, style, "fake")
    assert CHROMA_NAME.match(name) and ".." not in name
    assert name != collection_name(workspace + "2", style, "fake")


def test_empty_names_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        make_memory(tmp_path, workspace=" ")


def test_no_default_embedding_function_and_no_network(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from chromadb.utils.embedding_functions import onnx_mini_lm_l6_v2

    def forbidden(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("network or model download attempted")

    monkeypatch.setattr(onnx_mini_lm_l6_v2.ONNXMiniLM_L6_V2, "_download_model_if_not_exists", forbidden)
    monkeypatch.setattr(onnx_mini_lm_l6_v2.ONNXMiniLM_L6_V2, "__call__", forbidden)
    monkeypatch.setattr(socket.socket, "connect", forbidden)
    monkeypatch.setattr(socket, "create_connection", forbidden)
    memory = make_memory(tmp_path)
    memory.add_accepted("s1", "hello there", "greeting", "job")
    assert memory.nearest("hello", 1)[0].id == "s1"
    assert memory.pick_topic(["greeting", "farewell"]) == "farewell"
    assert memory._samples._embedding_function is None
    assert memory._topics._embedding_function is None


def test_accepted_samples_wait_in_memory_until_a_batch_is_written(tmp_path: Path) -> None:
    first = make_memory(tmp_path)
    first.add_accepted("s1", "my card was swallowed by the machine", "swallowed card", "j")
    assert first.near_duplicate("my card was swallowed by the machine", 0.99) is not None  # searched while waiting
    assert first.nearest("card swallowed", 1)[0].id == "s1"
    assert first.accepted_topics_among(["swallowed card", "other"]) == {"swallowed card"}
    assert first.pick_topic(["swallowed card", "rainy seaside trip"]) == "rainy seaside trip"
    assert make_memory(tmp_path).near_duplicate("my card was swallowed by the machine", 0.99) is None  # not written
    first.flush()
    assert make_memory(tmp_path).near_duplicate("my card was swallowed by the machine", 0.99) is not None


def test_a_full_batch_is_written_in_one_go(tmp_path: Path) -> None:
    first = make_memory(tmp_path)
    for index in range(FLUSH_ITEMS):
        first.add_accepted(f"s{index}", f"user text number {index} about topic {index}", f"topic {index}", "j")
    assert make_memory(tmp_path).count() == FLUSH_ITEMS


def test_a_resumed_job_puts_back_what_a_killed_process_had_not_written(tmp_path: Path) -> None:
    lost = make_memory(tmp_path)
    lost.add_accepted("s1", "hello there friend", "greeting", "j")  # never flushed: the process died
    samples = [
        Sample(
            id=sample_id,
            status="accepted",
            system="",
            turns=[Turn(role="user", content=text), Turn(role="assistant", content="hi")],
            lineage=Lineage(topic=topic, job_id="j"),
        )
        for sample_id, text, topic in [("s1", "hello there friend", "greeting"), ("s2", "a second text", "second")]
    ]
    resumed = make_memory(tmp_path)
    resumed.add_accepted("s2", "a second text", "second", "j")
    resumed.flush()
    assert resumed.ensure_accepted(samples) == 1
    assert resumed.count() == 2 and resumed.accepted_topics_among(["greeting"]) == {"greeting"}
