"""``Idempotency-Key`` on ``POST /v1/jobs`` through uvicorn: a retry gets the same job; another body gets 409."""

from __future__ import annotations

import asyncio
from pathlib import Path

from service.settings import Settings
from tests.integration.chat_stack import job_count, served_app

BODY = {"style": "empathetic-cs", "n": 2}


async def test_a_retry_with_the_same_key_returns_the_same_job_and_another_body_is_409(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path, api_keys=None)  # type: ignore[call-arg]
    async with served_app(settings) as (client, app):
        headers = {"Idempotency-Key": "3f6c1b0e-retry-1"}
        first = await client.post("/v1/jobs", json=BODY, headers=headers)
        assert first.status_code == 202, first.text
        retries = await asyncio.gather(*(client.post("/v1/jobs", json=BODY, headers=headers) for _ in range(4)))
        assert {r.status_code for r in retries} == {202}
        assert {r.json()["id"] for r in retries} == {first.json()["id"]}
        assert retries[0].headers["location"] == f"/v1/jobs/{first.json()['id']}"

        other = await client.post("/v1/jobs", json={**BODY, "n": 3}, headers=headers)
        assert other.status_code == 409
        assert other.json()["error"] == "idempotency_key_reused"
        assert first.json()["id"] in other.json()["message"]

        bad = await client.post("/v1/jobs", json=BODY, headers={"Idempotency-Key": "has a space"})
        assert bad.status_code == 422 and "Idempotency-Key" in bad.json()["message"]
        unkeyed = await client.post("/v1/jobs", json=BODY)
        assert unkeyed.status_code == 202 and unkeyed.json()["id"] != first.json()["id"]
        assert await job_count(app) == 2


async def test_the_header_is_in_the_openapi_schema(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, data_dir=tmp_path, api_keys=None)  # type: ignore[call-arg]
    async with served_app(settings) as (client, _):
        operation = (await client.get("/openapi.json")).json()["paths"]["/v1/jobs"]["post"]
    (header,) = [p for p in operation["parameters"] if p["in"] == "header"]
    assert header["name"] == "Idempotency-Key" and not header.get("required", False)
    assert header["schema"]["anyOf"][0]["pattern"] and "409" in operation["responses"]
