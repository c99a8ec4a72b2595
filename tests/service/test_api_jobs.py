"""Jobs over HTTP: create, show, list (paged), cancel, events (SSE), dataset formats, report, limits."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path
from typing import Any

import pytest

from tests.service.api_support import TEST_STYLE, api_client, parse_sse, slow_role_models, wait_for_status


async def test_job_lifecycle_events_dataset_and_report(tmp_path: Path) -> None:
    async with api_client(tmp_path) as (client, _):
        created = await client.post("/v1/jobs", json={"style": TEST_STYLE, "n": 4, "formats": ["alpaca", "openai"]})
        assert created.status_code == 202, created.text
        job = created.json()
        assert created.headers["location"] == f"/v1/jobs/{job['id']}"
        assert job["links"]["dataset"].endswith("format=alpaca")
        events = await client.get(job["links"]["events"])
        assert events.status_code == 200
        assert events.headers["content-type"].startswith("text/event-stream")
        parsed = parse_sse(events.text)
        kinds = [event["event"] for event in parsed]
        assert kinds[0] in ("snapshot", "end") and kinds[-1] == "end"
        assert parsed[-1]["data"]["status"] == "completed"
        assert parsed[-1]["data"]["progress"]["accepted"] == 4
        samples = [event for event in parsed if event["event"] == "sample"]
        assert all({"accepted", "rejected", "rewrites", "tokens"} <= set(e["data"]["progress"]) for e in samples)

        shown = (await client.get(f"/v1/jobs/{job['id']}")).json()
        assert shown["status"] == "completed"
        assert shown["summary"]["accepted"] == 4 and shown["summary"]["stop_reason"] == "completed"

        default = await client.get(f"/v1/jobs/{job['id']}/dataset")
        assert default.status_code == 200 and default.headers["content-type"].startswith("application/x-ndjson")
        records = [json.loads(line) for line in default.text.splitlines()]
        assert len(records) == 4 and {"instruction", "output"} <= set(records[0])
        for fmt, key in (("sharegpt", "conversations"), ("openai", "messages"), ("raw", "lineage")):
            answer = await client.get(f"/v1/jobs/{job['id']}/dataset", params={"format": fmt})
            lines = answer.text.splitlines()
            assert answer.status_code == 200 and len(lines) == 4
            assert key in json.loads(lines[0])
        raw = await client.get(f"/v1/jobs/{job['id']}/dataset?format=raw")
        ids = [json.loads(line)["id"] for line in raw.text.splitlines()]
        assert len(set(ids)) == 4

        report = await client.get(f"/v1/jobs/{job['id']}/report")
        assert report.status_code == 200
        body = report.json()
        assert body["summary"]["accepted"] == 4 and len(body["accepted"]) == 4
        assert body["request"]["style"] == TEST_STYLE


async def test_unknown_format_and_unknown_job(tmp_path: Path) -> None:
    async with api_client(tmp_path) as (client, _):
        job = (await client.post("/v1/jobs", json={"style": TEST_STYLE, "n": 1})).json()
        bad = await client.get(f"/v1/jobs/{job['id']}/dataset", params={"format": "csv"})
        assert bad.status_code == 422
        assert "alpaca" in bad.json()["message"] and "format" in bad.json()["message"]
        for path in ("", "/events", "/dataset", "/report"):
            missing = await client.get(f"/v1/jobs/0123abcd{path}")
            assert missing.status_code == 404, path
            assert missing.json()["error"] == "job_not_found"
        assert (await client.post("/v1/jobs/0123abcd/cancel")).status_code == 404
        assert (await client.get("/v1/jobs/bad$id")).status_code == 422


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"style": TEST_STYLE, "n": 0}, "n: Input should be greater than or equal to 1"),
        ({"style": TEST_STYLE, "n": "many"}, "n: Input should be a valid integer"),
        ({"style": TEST_STYLE}, "n: required field is missing"),
        ({"style": "nope", "n": 1}, "unknown style 'nope'; known styles:"),
        ({"style": TEST_STYLE, "n": 1, "formats": ["csv"]}, "formats.0: Input should be 'alpaca'"),
        ({"style": TEST_STYLE, "n": 1, "judge": "../../etc/passwd.md"}, "unknown judge prompt"),
        ({"style": TEST_STYLE, "n": 1, "workspace": "a/b"}, "workspace: String should match pattern"),
        ({"style": TEST_STYLE, "n": 1, "colour": "red"}, "colour: Extra inputs are not permitted"),
        ({"style": TEST_STYLE, "n": 51}, "n must be at most 50"),
        ({"style": TEST_STYLE, "n": 1, "ray_address": "auto"}, "ray_address is only used with executor ray"),
        ({"style": TEST_STYLE, "n": 1, "executor": "ray", "batch": True}, "executor ray does not send calls through"),
        ({"style": TEST_STYLE, "n": 1, "executor": "spark"}, "executor: Input should be 'local' or 'ray'"),
    ],
)
async def test_bad_job_requests_are_4xx_that_say_what_to_fix(tmp_path: Path, body: dict, fragment: str) -> None:
    async with api_client(tmp_path, max_job_n=50) as (client, _):
        answer = await client.post("/v1/jobs", json=body)
        assert answer.status_code == 422, answer.text
        assert fragment in answer.json()["message"]
        assert answer.json()["request_id"] == answer.headers["x-request-id"]


async def test_malformed_json_and_non_object_bodies(tmp_path: Path) -> None:
    async with api_client(tmp_path) as (client, _):
        broken = await client.post("/v1/jobs", content=b'{"style": ', headers={"content-type": "application/json"})
        assert broken.status_code == 422 and "not valid JSON" in broken.json()["message"]
        listed = await client.post("/v1/jobs", json=[1, 2])
        assert listed.status_code == 422 and "JSON object" in listed.json()["message"]
        text = await client.post("/v1/jobs", content=b"style=gentle")
        assert text.status_code == 422 and "JSON object" in text.json()["message"]


async def test_list_is_paged_newest_first(tmp_path: Path) -> None:
    async with api_client(tmp_path, max_concurrent_jobs=10) as (client, _):
        ids = []
        for _ in range(5):
            ids.append((await client.post("/v1/jobs", json={"style": TEST_STYLE, "n": 1})).json()["id"])
        first = (await client.get("/v1/jobs", params={"limit": 2})).json()
        assert first["total"] == 5 and len(first["items"]) == 2 and first["next"] == "/v1/jobs?offset=2&limit=2"
        second = (await client.get(first["next"])).json()
        last = (await client.get("/v1/jobs", params={"offset": 4, "limit": 2})).json()
        assert last["next"] is None and len(last["items"]) == 1
        seen = [job["id"] for page in (first, second, last) for job in page["items"]]
        assert sorted(seen) == sorted(ids) and len(set(seen)) == 5
        assert (await client.get("/v1/jobs", params={"limit": 101})).status_code == 422
        assert (await client.get("/v1/jobs", params={"offset": -1})).status_code == 422


async def test_cancel_keeps_in_flight_samples_and_409_after_end(tmp_path: Path) -> None:
    async with api_client(tmp_path, models=slow_role_models(0.05)) as (client, app):
        job = (await client.post("/v1/jobs", json={"style": TEST_STYLE, "n": 30, "concurrency": 2})).json()
        deadline = asyncio.get_running_loop().time() + 20
        while (await client.get(f"/v1/jobs/{job['id']}")).json()["progress"]["accepted"] < 2:
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.02)
        cancelled = await client.post(f"/v1/jobs/{job['id']}/cancel")
        assert cancelled.status_code == 202 and cancelled.json()["cancel_requested"] is True
        ended = await wait_for_status(client, job["id"], {"cancelled"})
        assert 2 <= ended["summary"]["accepted"] < 30 and ended["summary"]["stop_reason"] == "cancelled"
        stored = app.state.manager.store.count_samples(job["id"])
        assert stored == ended["summary"]["accepted"]
        again = await client.post(f"/v1/jobs/{job['id']}/cancel")
        assert again.status_code == 409 and "already ended" in again.json()["message"]


async def test_concurrent_job_limit_and_report_before_end(tmp_path: Path) -> None:
    async with api_client(tmp_path, models=slow_role_models(0.05), max_concurrent_jobs=1) as (client, _):
        job = (await client.post("/v1/jobs", json={"style": TEST_STYLE, "n": 20})).json()
        report = await client.get(f"/v1/jobs/{job['id']}/report")
        assert report.status_code == 409 and "once it has ended" in report.json()["message"]
        refused = await client.post("/v1/jobs", json={"style": TEST_STYLE, "n": 1})
        assert refused.status_code == 429 and "max 1" in refused.json()["message"]
        assert refused.headers["retry-after"]
        partial = await client.get(f"/v1/jobs/{job['id']}/dataset")
        assert partial.status_code == 200 and partial.headers["x-job-status"] in ("queued", "running")
        await client.post(f"/v1/jobs/{job['id']}/cancel")
        await wait_for_status(client, job["id"], {"cancelled"})
        assert (await client.post("/v1/jobs", json={"style": TEST_STYLE, "n": 1})).status_code == 202


async def test_a_job_frees_its_slot_as_soon_as_it_shows_its_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with api_client(tmp_path, max_concurrent_jobs=1) as (client, app):
        store = app.state.manager.store
        release, creates = threading.Event(), []
        store_update, store_run = store.update_job, store.run

        def held_final_write(job_id: str, **fields: object) -> None:
            if fields.get("summary") is not None:  # the final write: keep the job's task alive meanwhile
                release.wait(timeout=10)
            store_update(job_id, **fields)

        async def run_releasing_on_create(function: Any, *args: Any, **kwargs: Any) -> Any:
            if function == store.create_job:
                creates.append(function)
                if len(creates) == 2:  # the second job is past the limit check: the held write may end
                    release.set()
            return await store_run(function, *args, **kwargs)

        monkeypatch.setattr(store, "update_job", held_final_write)
        monkeypatch.setattr(store, "run", run_releasing_on_create)
        manager = app.state.manager
        job = (await client.post("/v1/jobs", json={"style": TEST_STYLE, "n": 1})).json()
        await wait_for_status(client, job["id"], {"completed"})
        assert manager.running == 0 and manager.runner_of(job["id"]) is not None  # its task is still writing
        second = await client.post("/v1/jobs", json={"style": TEST_STYLE, "n": 1})
        assert second.status_code == 202, second.text
        await wait_for_status(client, second.json()["id"], {"completed"})


async def test_slow_event_reader_never_blocks_the_job(tmp_path: Path) -> None:
    # Slow enough models that the reader subscribes long before the last of the job's ~10 updates.
    async with api_client(tmp_path, models=slow_role_models(0.02)) as (client, app):
        manager = app.state.manager
        manager.hub.queue_size = 2
        job = (await client.post("/v1/jobs", json={"style": TEST_STYLE, "n": 8, "concurrency": 2})).json()
        updates = manager.subscribe(job["id"])
        first = await anext(updates)
        await wait_for_status(client, job["id"], {"completed"})
        # The status is stored before "end" is published; the job's task ends after both.
        for _ in range(500):
            if manager.runner_of(job["id"]) is None:
                break
            await asyncio.sleep(0.01)
        assert manager.runner_of(job["id"]) is None  # the job's task has ended while nobody read its updates
        rest = [update async for update in updates]
        assert first.kind == "snapshot"
        assert rest[-1].kind == "end" and rest[-1].progress.accepted == 8
        assert len(rest) == 2 and sum(update.dropped for update in rest) > 0
        assert manager.hub.subscribers(job["id"]) == 0


async def test_body_that_is_not_utf8_is_422(tmp_path: Path) -> None:
    async with api_client(tmp_path) as (client, _):
        answer = await client.post("/v1/jobs", content=b"\x17_a\xffGp", headers={"content-type": "application/json"})
        assert answer.status_code == 422 and "UTF-8 JSON" in answer.json()["message"]


async def test_a_job_with_into_writes_a_version_and_a_cancelled_one_a_partial_version(tmp_path: Path) -> None:
    from graph.datasets.store import DatasetStore

    async with api_client(tmp_path, models=slow_role_models(0.05)) as (client, _):
        done = (await client.post("/v1/jobs", json={"style": TEST_STYLE, "n": 3, "into": "api-set"})).json()
        finished = await wait_for_status(client, done["id"], {"completed"})
        assert finished["version"] == "api-set@1"

        job = (await client.post("/v1/jobs", json={"style": TEST_STYLE, "n": 30, "into": "api-set"})).json()
        while (await client.get(f"/v1/jobs/{job['id']}")).json()["progress"]["accepted"] < 2:
            await asyncio.sleep(0.02)
        await client.post(f"/v1/jobs/{job['id']}/cancel")
        cancelled = await wait_for_status(client, job["id"], {"cancelled"})
        assert cancelled["version"] == "api-set@2"

        bad = await client.post("/v1/jobs", json={"style": TEST_STYLE, "n": 1, "into": "Bad Name"})
        assert bad.status_code == 422 and "invalid data set name" in bad.json()["message"]
    versions = DatasetStore(tmp_path).versions("api-set")
    assert [(m.rows, m.partial) for m in versions] == [(3, False), (cancelled["summary"]["accepted"], True)]
