"""On-demand samples, the judge endpoint, style packs, /healthz and /metrics over HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tests.service.api_support import TEST_STYLE, api_client, slow_role_models, style_pack_yaml

DIALOGUE = [{"role": "user", "content": "今天好累"}, {"role": "assistant", "content": "辛苦啦，要不要休息一下呀？"}]


async def test_samples_now_returns_verdicts_rewrites_and_tokens(tmp_path: Path) -> None:
    async with api_client(tmp_path) as (client, _):
        answer = await client.post("/v1/samples", json={"style": TEST_STYLE, "k": 3, "topic": "加班"})
        assert answer.status_code == 200, answer.text
        batch = answer.json()
        assert batch["accepted"] == 3 and batch["timed_out"] is False and batch["requested"] == 3
        first = batch["samples"][0]
        assert first["sample"]["lineage"]["topic"] == "加班"
        assert first["sample"]["attempts"][-1]["verdict"]["passed"] is True
        assert first["rewrites"] == 0 and first["total_tokens"] > 0 and "generator" in first["tokens"]


async def test_samples_timeout_returns_what_was_accepted_and_says_so(tmp_path: Path) -> None:
    async with api_client(tmp_path, models=slow_role_models(0.2)) as (client, _):
        answer = await client.post("/v1/samples", json={"style": TEST_STYLE, "k": 10, "timeout_s": 0.5})
        assert answer.status_code == 200
        batch = answer.json()
        assert batch["timed_out"] is True and batch["accepted"] < 10
        assert "timed out after 0.5 s" in batch["message"] and batch["elapsed_s"] < 5


async def test_samples_bounds_and_unknown_style(tmp_path: Path) -> None:
    async with api_client(tmp_path) as (client, _):
        too_many = await client.post("/v1/samples", json={"style": TEST_STYLE, "k": 11})
        assert too_many.status_code == 422
        assert "k: Input should be less than or equal to 10" in too_many.json()["message"]
        unknown = await client.post("/v1/samples", json={"style": "robot", "k": 1})
        assert unknown.status_code == 422 and "unknown style 'robot'" in unknown.json()["message"]
        path = await client.post("/v1/samples", json={"style": "/etc/passwd.yaml", "k": 1})
        assert path.status_code == 422  # names only: a request never makes the server read a file


async def test_judge_scores_a_users_own_dialogues(tmp_path: Path) -> None:
    async with api_client(tmp_path) as (client, _):
        body = {"style": "gentle", "prompt": "anchored", "samples": [{"turns": DIALOGUE}, {"turns": DIALOGUE}]}
        answer = await client.post("/v1/judge", json=body)
        assert answer.status_code == 200, answer.text
        result = answer.json()
        assert result["prompt"] == "anchored" and len(result["results"]) == 2
        first = result["results"][0]
        assert set(first["scores"]) == {"coherence", "empathy", "style", "correctness"} and first["passed"] is True
        assert first["reasons"]["empathy"] and result["tokens"]["calls"] == 2
        unknown = await client.post("/v1/judge", json={**body, "prompt": "strict"})
        assert unknown.status_code == 422 and "unknown judge prompt 'strict'" in unknown.json()["message"]
        short = await client.post("/v1/judge", json={"style": "gentle", "samples": [{"turns": DIALOGUE[:1]}]})
        assert short.status_code == 422 and "samples.0.turns" in short.json()["message"]
        empty = await client.post("/v1/judge", json={"style": "gentle", "samples": []})
        assert empty.status_code == 422


async def test_styles_list_show_and_register(tmp_path: Path) -> None:
    async with api_client(tmp_path) as (client, _):
        listed = (await client.get("/v1/styles")).json()
        names = {style["name"]: style for style in listed}
        assert {"gentle", "snarky", TEST_STYLE} <= set(names)
        assert names["gentle"]["builtin"] is True and names[TEST_STYLE]["builtin"] is False
        by_alias = await client.get("/v1/styles/温柔")
        assert by_alias.status_code == 200 and by_alias.json()["pack"]["name"] == "gentle"
        missing = await client.get("/v1/styles/robot")
        assert missing.status_code == 404 and "known styles" in missing.json()["message"]

        pack = yaml.safe_load(style_pack_yaml("mine"))
        created = await client.post("/v1/styles", json={"pack": pack})
        assert created.status_code == 201 and created.json() == {"name": "mine", "created": True}
        assert created.headers["location"] == "/v1/styles/mine"
        replaced = await client.post("/v1/styles", json={"yaml": style_pack_yaml("mine")})
        assert replaced.status_code == 200 and replaced.json()["created"] is False

        bad_rubric = [{"name": "Bad Name", "description": "x"}]
        bad = await client.post("/v1/styles", json={"pack": {**pack, "rubric": bad_rubric}})
        assert bad.status_code == 422 and "rubric.0.name" in bad.json()["message"]
        missing_field = {key: value for key, value in pack.items() if key != "examples"}
        no_examples = await client.post("/v1/styles", json={"pack": missing_field})
        assert "body.pack.examples: required field is missing" in no_examples.json()["message"]
        not_yaml = await client.post("/v1/styles", json={"yaml": "name: [unclosed"})
        assert not_yaml.status_code == 422 and "not valid YAML" in not_yaml.json()["message"]
        both = await client.post("/v1/styles", json={"yaml": "a: 1", "pack": pack})
        assert both.status_code == 422 and "exactly one" in both.json()["message"]
        builtin = await client.post("/v1/styles", json={"pack": {**pack, "name": "gentle"}})
        assert builtin.status_code == 409 and "shipped style" in builtin.json()["message"]
        huge = await client.post("/v1/styles", json={"yaml": "x" * 300_000})
        assert huge.status_code == 422 and "at most 262144 characters" in huge.json()["message"]


async def test_registered_style_survives_a_restart(tmp_path: Path) -> None:
    async with api_client(tmp_path) as (client, _):
        await client.post("/v1/styles", json={"yaml": style_pack_yaml("kept")})
    async with api_client(tmp_path, register_style=False) as (client, _):
        assert (await client.get("/v1/styles/kept")).status_code == 200


async def test_healthz_and_metrics(tmp_path: Path) -> None:
    async with api_client(tmp_path) as (client, _):
        health = (await client.get("/healthz")).json()
        assert health == {
            "status": "ok",
            "llm": "injected",
            "jobs_running": 0,
            "auth": False,
            "store": "writable",
            "message": "",
        }
        await client.post("/v1/samples", json={"style": TEST_STYLE, "k": 2})
        await client.post("/v1/judge", json={"style": "gentle", "samples": [{"turns": DIALOGUE}]})
        text = (await client.get("/metrics")).text
        assert 'dialogforge_http_requests_total{method="POST",route="/v1/samples",status="200"} 1.0' in text
        assert 'dialogforge_samples_total{status="accepted"} 2.0' in text
        assert 'dialogforge_llm_calls_total{role="judge"} 3.0' in text
        assert 'dialogforge_llm_tokens_total{kind="input",role="generator"}' in text
        assert "dialogforge_http_request_duration_seconds_bucket" in text
        assert "dialogforge_sample_duration_seconds_count 2.0" in text
        assert "dialogforge_jobs_running 0.0" in text
        assert "dialogforge_llm_throttled 0.0" in text and "dialogforge_llm_calls_in_flight 0.0" in text
        openapi = json.loads((await client.get("/openapi.json")).text)
        paths = {"/v1/samples", "/v1/jobs", "/v1/jobs/{job_id}/events", "/v1/judge", "/v1/styles"}
        assert paths <= set(openapi["paths"])
