"""The call cache: entries, LRU bound, age-based clearing, plans; the chat model and embedder on top (no sockets)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from langchain_core.messages import BaseMessage, HumanMessage

from agents.admission import Admission
from agents.answers import draft_schema
from agents.call_cache import CallCache, call_key
from agents.call_scope import call_scope, derive_seed
from agents.embedding_cache import CachingEmbedder
from agents.llm import BoundedChatModel
from agents.structured import ask_structured
from tests.fakes import FakeEmbedder, ScriptedChatModel

DIALOGUE = '{"exchanges": [{"user": "hi", "assistant": "hello"}]}'
Dialogue = draft_schema(1)


def test_entries_round_trip_and_the_size_bound_evicts_least_recently_used(tmp_path: Path) -> None:
    cache = CallCache(tmp_path, max_bytes=1000)
    cache.put("a", "chat", b"x" * 400)
    cache.put("b", "chat", b"y" * 400)
    time.sleep(0.01)
    assert cache.get("a") == b"x" * 400  # a is now the most recently used
    cache.put("c", "chat", b"z" * 400)  # 1200 > 1000: evict down to 900, oldest use first
    assert cache.get("b") is None and cache.get("a") is not None and cache.get("c") is not None
    [chat] = cache.stats()
    assert chat.kind == "chat" and chat.entries == 2 and chat.bytes == 800
    again = CallCache(tmp_path, max_bytes=1000)  # another process sees the same entries and size
    assert again.get("c") == b"z" * 400 and again._size == 800


def test_many_entries_are_stored_and_marked_in_one_commit(tmp_path: Path) -> None:
    """An embeddings batch writes its vectors on the caller's path: one commit, not one per vector."""
    cache = CallCache(tmp_path)
    commits: list[str] = []
    cache._db.set_trace_callback(lambda statement: commits.append(statement) if statement == "COMMIT" else None)
    cache.put_many("embedding", {f"k{index}": b"v" * 8 for index in range(50)})
    assert len(cache.get_many([f"k{index}" for index in range(60)])) == 50
    assert commits == ["COMMIT", "COMMIT"]  # the 50 writes, then the 50 marks of use
    cache.close()
    reopened = CallCache(tmp_path)
    assert reopened.get("k49") == b"v" * 8 and reopened._size == 50 * 8


def test_clear_everything_or_only_what_is_older(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = CallCache(tmp_path)
    monkeypatch.setattr(time, "time", lambda: 1_000_000.0)
    cache.put("old", "chat", b"1")
    cache.record_plan("scope", 0, {"topic": "t", "avoid": []})
    monkeypatch.setattr(time, "time", lambda: 1_000_000.0 + 40 * 86_400)
    cache.put("new", "embedding", b"2")
    assert cache.clear(older_than_s=30 * 86_400) == 2  # the old entry and the old plan
    assert cache.get("old") is None and cache.get("new") == b"2"
    assert cache.clear() == 1 and cache.stats() == []


def test_plans_keep_the_first_and_finished_numbers_are_per_job(tmp_path: Path) -> None:
    cache = CallCache(tmp_path)
    cache.record_plan("s", 3, {"topic": "first", "avoid": ["x"]})
    cache.record_plan("s", 3, {"topic": "second", "avoid": []})
    assert cache.plan("s", 3) == {"topic": "first", "avoid": ["x"]}
    assert cache.plan("s", 4) is None
    cache.finish("s", "job-1", 3)
    assert cache.finished("s", "job-1") == {3} and cache.finished("s", "job-2") == set()


def test_keys_are_canonical() -> None:
    assert call_key(a=1, b=[1, "二"]) == call_key(b=[1, "二"], a=1)
    assert call_key(a=1) != call_key(a=2)
    assert derive_seed(7, 0) != derive_seed(7, 1) and derive_seed(7, 0) == derive_seed(7, 0)


def cached_model(tmp_path: Path) -> tuple[BoundedChatModel, list[Any]]:
    calls: list[Any] = []

    def responder(messages: list[BaseMessage], options: dict[str, Any]) -> str:
        calls.append(options)
        return DIALOGUE

    inner = ScriptedChatModel(responder=responder, calls=[])
    return BoundedChatModel(
        inner=inner, admission=Admission(), call_cache=CallCache(tmp_path), endpoint="http://x/v1"
    ), calls


async def test_a_call_is_served_from_the_cache_under_the_same_seed_only(tmp_path: Path) -> None:
    model, calls = cached_model(tmp_path)

    async def ask(seed: int | None) -> Any:
        if seed is None:
            return await ask_structured(model, [HumanMessage("write")], Dialogue, temperature=0.9)
        with call_scope(seed):
            return await ask_structured(model, [HumanMessage("write")], Dialogue, temperature=0.9)

    first = await ask(1)
    assert first.usage.calls == 1 and first.usage.cache_hits == 0
    again = await ask(1)
    assert again.parsed == first.parsed and again.usage.calls == 0 and again.usage.cache_hits == 1
    await ask(2)  # another sample's seed: a call of its own
    await ask(None)  # outside any sample: never cached
    await ask(None)
    assert len(calls) == 4


async def test_a_samples_second_identical_call_is_a_new_call(tmp_path: Path) -> None:
    model, calls = cached_model(tmp_path)
    for _ in range(2):
        with call_scope(5):
            await model.ainvoke([HumanMessage("same")])
            await model.ainvoke([HumanMessage("same")])
    assert len(calls) == 2  # two calls the first time, both served the second time


async def test_a_different_parameter_is_a_different_call(tmp_path: Path) -> None:
    model, calls = cached_model(tmp_path)
    with call_scope(5):
        await model.bind(temperature=0.1).ainvoke([HumanMessage("same")])
    with call_scope(5):
        await model.bind(temperature=0.2).ainvoke([HumanMessage("same")])
    assert len(calls) == 2


def test_embeddings_of_earlier_runs_come_from_disk(tmp_path: Path) -> None:
    disk = CallCache(tmp_path)
    first = CachingEmbedder(FakeEmbedder(), disk=disk)
    vectors = first.embed(["a cat", "a dog"])
    inner = FakeEmbedder()
    second = CachingEmbedder(inner, disk=disk)
    again = second.embed(["a dog", "a cat", "a bird"])
    assert np.allclose(again[0], vectors[1]) and np.allclose(again[1], vectors[0])
    assert second.disk_hits == 2


async def test_cache_reads_do_not_block_other_calls(tmp_path: Path) -> None:
    model, _ = cached_model(tmp_path)
    with call_scope(9):
        answers = await asyncio.gather(*(model.ainvoke([HumanMessage(f"q{i}")]) for i in range(20)))
    assert len(answers) == 20
