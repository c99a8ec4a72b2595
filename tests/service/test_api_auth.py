"""API keys, request ids, structured logs without secrets, and the request-size limit."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from service.http.deps import key_matches
from service.logging_setup import JsonFormatter, RequestIdFilter
from tests.service.api_support import TEST_STYLE, api_client

KEYS = "alpha-key-1234567890,beta-key-0987654321"


async def test_keys_are_required_on_v1_only(tmp_path: Path) -> None:
    async with api_client(tmp_path, register_style=False, api_keys=KEYS) as (client, _):
        missing = await client.get("/v1/styles")
        assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
        assert "Authorization: Bearer" in missing.json()["message"]
        wrong = await client.get("/v1/styles", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and wrong.json()["message"] == "the API key is not valid"
        basic = await client.get("/v1/styles", headers={"Authorization": "Basic YWxwaGE="})
        assert basic.status_code == 401
        for key in KEYS.split(","):
            ok = await client.get("/v1/styles", headers={"Authorization": f"Bearer {key}"})
            assert ok.status_code == 200
        assert (await client.post("/v1/jobs", json={"style": "gentle", "n": 1})).status_code == 401
        assert (await client.get("/v1/jobs/abc/events")).status_code == 401
        health = await client.get("/healthz")
        assert health.status_code == 200 and health.json()["auth"] is True
        assert (await client.get("/metrics")).status_code == 200


def test_key_comparison() -> None:
    keys = [b"alpha", b"beta"]
    assert key_matches("beta", keys) and not key_matches("bet", keys) and not key_matches("", keys)


async def test_keys_never_reach_logs_or_answers(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    good, bad = KEYS.split(",")[0], "wrong-secret-5555"
    async with api_client(tmp_path, register_style=False, api_keys=KEYS) as (client, _):
        answers = [
            await client.get("/v1/styles", headers={"Authorization": f"Bearer {good}"}),
            await client.get("/v1/styles", headers={"Authorization": f"Bearer {bad}"}),
            await client.post("/v1/jobs", json={"style": "x", "n": 0}, headers={"Authorization": f"Bearer {good}"}),
            await client.get("/healthz", headers={"Authorization": f"Bearer {good}"}),
        ]
    formatter = JsonFormatter()
    id_filter = RequestIdFilter()
    lines = []
    for record in caplog.records:
        id_filter.filter(record)
        lines.append(formatter.format(record))
    text = "\n".join(lines) + caplog.text + "".join(answer.text for answer in answers)
    for secret in [*KEYS.split(","), bad, "alpha-key", "beta-key"]:
        assert secret not in text
    access = [json.loads(line) for line in lines if '"dialogforge.access"' in line]
    assert [entry["status"] for entry in access][:4] == [200, 401, 422, 200]
    assert all(entry["request_id"] != "-" and "duration_ms" in entry for entry in access)


async def test_request_id_is_echoed_or_made(tmp_path: Path) -> None:
    async with api_client(tmp_path, register_style=False) as (client, _):
        given = await client.get("/healthz", headers={"X-Request-ID": "trace-42"})
        assert given.headers["x-request-id"] == "trace-42"
        odd = await client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
        assert odd.headers["x-request-id"] != "bad id with spaces" and len(odd.headers["x-request-id"]) == 32
        error = await client.get("/v1/jobs/nothere", headers={"X-Request-ID": "trace-43"})
        assert error.json()["request_id"] == "trace-43"


async def test_request_size_limit(tmp_path: Path) -> None:
    async with api_client(tmp_path, max_request_bytes=16384) as (client, _):  # room for the test style pack
        big = {"style": TEST_STYLE, "n": 1, "topic": "x" * 150, "padding": "y" * 20000}
        declared = await client.post("/v1/jobs", json=big)
        assert declared.status_code == 413 and "larger than 16384 bytes" in declared.json()["message"]

        async def chunks():  # no Content-Length: counted while streaming
            for _ in range(5):
                yield b" " * 4000

        streamed = await client.post("/v1/jobs", content=chunks(), headers={"content-type": "application/json"})
        assert streamed.status_code == 413
        small = await client.post("/v1/samples", json={"style": TEST_STYLE, "k": 1})
        assert small.status_code == 200


def test_json_formatter_carries_extras() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello %s", ("you",), None)
    record.route = "/v1/jobs"
    RequestIdFilter().filter(record)
    data = json.loads(JsonFormatter().format(record))
    assert data["message"] == "hello you" and data["route"] == "/v1/jobs" and data["request_id"] == "-"
