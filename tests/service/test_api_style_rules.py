"""``POST /v1/styles`` under attack: deep nesting, alias hijacks, blank markers, parsing off the event loop."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from agents import styles
from agents.styles import StylePack
from service.jobs.pack_parser import WAITING, WORKERS
from service.jobs.store import JobStore
from tests.service.api_support import api_client, style_pack_yaml


def pack(name: str, **updates: object) -> dict[str, object]:
    return yaml.safe_load(style_pack_yaml(name, **updates))  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    "body",
    [
        {"yaml": "[" * 50_000},
        {"yaml": "{a: " * 20_000},
        {"yaml": "name: deep\ntopics: " + "[" * 200 + "]" * 200},
    ],
    ids=["50000-lists", "20000-mappings", "200-in-a-field"],
)
async def test_deeply_nested_yaml_is_422_nesting_too_deep(tmp_path: Path, body: dict[str, str]) -> None:
    async with api_client(tmp_path, register_style=False) as (client, _):
        answer = await client.post("/v1/styles", json=body)
        assert answer.status_code == 422 and "nesting too deep" in answer.json()["message"], answer.text
        assert (await client.get("/healthz")).status_code == 200


async def test_deeply_nested_json_body_is_422_nesting_too_deep(tmp_path: Path) -> None:
    async with api_client(tmp_path, register_style=False) as (client, _):
        for depth in (50_000, 900):  # past json's own limit, and just under it
            content = '{"pack": {"topics": ' + "[" * depth + "]" * depth + "}}"
            answer = await client.post("/v1/styles", content=content, headers={"content-type": "application/json"})
            assert answer.status_code == 422, answer.text
            print(f"depth {depth}: {answer.json()['message'][:80]}")


async def test_an_alias_cannot_take_another_packs_name(tmp_path: Path) -> None:
    async with api_client(tmp_path, register_style=False) as (client, _):
        assert (await client.post("/v1/styles", json={"pack": pack("a", aliases=["b"])})).status_code == 201
        hijack = await client.post("/v1/styles", json={"pack": pack("b")})
        assert hijack.status_code == 409 and "'b' is already used by the style 'a'" in hijack.json()["message"]
        steal = await client.post("/v1/styles", json={"pack": pack("c", aliases=["a"])})
        assert steal.status_code == 409 and "'a' is already used by the style 'a'" in steal.json()["message"]
        shipped = await client.post("/v1/styles", json={"pack": pack("d", aliases=["温柔"])})
        assert shipped.status_code == 409 and "the shipped style 'gentle'" in shipped.json()["message"]
        assert (await client.get("/v1/styles/b")).json()["pack"]["name"] == "a"
        # a pack may change its own aliases; the old ones are free again
        moved = await client.post("/v1/styles", json={"pack": pack("a", aliases=["a2"])})
        assert moved.status_code == 200
        assert (await client.post("/v1/styles", json={"pack": pack("b")})).status_code == 201
        assert (await client.get("/v1/styles/b")).json()["pack"]["name"] == "b"
        assert (await client.get("/v1/styles/a2")).json()["pack"]["name"] == "a"


@pytest.mark.parametrize(
    ("aliases", "expected"),
    [
        (["../x"], "not a valid alias"),
        ([""], "1-64 characters"),
        (["x" * 100_000], "1-64"),
        (["d"] * 5_000, "at most 16"),
    ],
)
async def test_aliases_are_validated_like_names(tmp_path: Path, aliases: list[str], expected: str) -> None:
    async with api_client(tmp_path, register_style=False) as (client, _):
        for body in ({"pack": pack("p", aliases=aliases)}, {"yaml": style_pack_yaml("p", aliases=aliases)}):
            answer = await client.post("/v1/styles", json=body)
            assert answer.status_code == 422 and expected in answer.json()["message"], answer.text[:300]


@pytest.mark.parametrize(("field", "value"), [("markers", ""), ("markers", "  "), ("forbidden", ""), ("topics", " ")])
async def test_blank_markers_and_phrases_are_422(tmp_path: Path, field: str, value: str) -> None:
    async with api_client(tmp_path, register_style=False) as (client, _):
        for body in ({"pack": pack("p", **{field: [value]})}, {"yaml": style_pack_yaml("p", **{field: [value]})}):
            answer = await client.post("/v1/styles", json=body)
            assert answer.status_code == 422, answer.text
            assert f"{field}.0: Value error, must not be empty or only whitespace" in answer.json()["message"]


async def test_parsing_runs_off_the_event_loop_and_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    release = threading.Event()
    started = threading.Semaphore(0)
    real_parse = styles.parse_style_pack

    def slow_parse(text: str, source: str = "<text>") -> StylePack:
        started.release()
        release.wait(30)  # a parse that takes as long as the test wants
        return real_parse(text, source)

    monkeypatch.setattr("service.jobs.pack_parser.parse_style_pack", slow_parse)
    monkeypatch.setattr("service.jobs.pack_parser.new_executor", ThreadPoolExecutor)  # so the patch applies
    async with api_client(tmp_path, register_style=False) as (client, _):
        posts = [
            asyncio.create_task(client.post("/v1/styles", json={"yaml": style_pack_yaml(f"p{i}")}))
            for i in range(WORKERS + WAITING)
        ]
        for _ in range(WORKERS):
            assert await asyncio.to_thread(started.acquire, True, 10), "the parses did not start"
        health = await asyncio.wait_for(client.get("/healthz"), 10)  # answered while every parse is pending
        assert health.status_code == 200
        refused = await client.post("/v1/styles", json={"yaml": style_pack_yaml("one-too-many")})
        assert refused.status_code == 429 and refused.headers["retry-after"]
        release.set()
        codes = [answer.status_code for answer in await asyncio.gather(*posts)]
        assert codes == [201] * len(posts)
        print(f"{len(posts)} parses pending, /healthz answered; the next POST got {refused.status_code}")


async def test_a_stored_pack_that_breaks_a_new_rule_is_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = JobStore(tmp_path)
    old = StylePack.stored(json.dumps(pack("old", markers=[""])))  # saved before the rule existed
    hijacker = StylePack.stored(json.dumps(pack("hijacker", aliases=["snarky"])))
    store.save_style(old)
    store.save_style(hijacker)
    store.close()
    with caplog.at_level(logging.WARNING):
        async with api_client(tmp_path, register_style=False) as (client, _):
            assert (await client.get("/v1/styles/old")).status_code == 404
            assert (await client.get("/v1/styles/snarky")).json()["pack"]["name"] == "snarky"
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert any("old" in text and "markers.0" in text for text in warnings), warnings
    assert any("'hijacker' is not loaded" in text for text in warnings), warnings
