"""``POST /v1/jobs {"kind": "clean"}`` over real HTTP (uvicorn on loopback): a durable job writes the version."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from graph.datasets.importer import ImportOptions, import_sources
from graph.datasets.store import DatasetStore
from service.http.app import create_app
from tests.fakes import FakeEmbedder, fake_role_models
from tests.graph.datasets.helpers import write_jsonl
from tests.integration.test_cli_clean import DIRTY
from tests.service.api_support import make_settings

AUTH = {"Authorization": "Bearer k1"}


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[str, DatasetStore]]:
    settings = make_settings(tmp_path, api_keys="k1")
    store = DatasetStore(settings.data_dir)
    import_sources(store, "logs", [str(write_jsonl(tmp_path / "in.jsonl", DIRTY))], ImportOptions())
    app = create_app(settings, models=fake_role_models(), embedder=FakeEmbedder())
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on"))
    serving = asyncio.create_task(server.serve())
    for _ in range(400):
        if server.started:
            break
        await asyncio.sleep(0.025)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}", store
    server.should_exit = True
    await asyncio.wait_for(serving, timeout=30)


async def _ended(client: httpx.AsyncClient, job_id: str) -> dict[str, Any]:
    for _ in range(600):
        job: dict[str, Any] = (await client.get(f"/v1/jobs/{job_id}", headers=AUTH)).json()
        if job["status"] not in ("queued", "running"):
            return job
        await asyncio.sleep(0.1)
    raise AssertionError(f"job {job_id} did not end")


async def test_a_clean_job_writes_a_new_version_and_bad_requests_are_4xx(served: tuple[str, DatasetStore]) -> None:
    base_url, store = served
    body = {"kind": "clean", "source": "logs@1", "into": "logs", "ops": "default", "workers": 0}
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        created = await client.post("/v1/jobs", json=body, headers=AUTH)
        assert created.status_code == 202, created.text
        job = await _ended(client, created.json()["id"])
        assert job["status"] == "completed", job
        assert job["version"] == "logs@2" and job["request"]["kind"] == "clean"
        summary = job["summary"]
        assert summary["target"] == len(DIRTY) and summary["accepted"] == store.resolve("logs@2").rows
        assert summary["rejected_by_reason"]["exact-dedup:exact_duplicate"] == 1
        assert store.resolve("logs@1").rows == len(DIRTY)  # the source is untouched
        manifest = store.resolve("logs@2")
        assert manifest.operation == "clean" and manifest.parents == ["logs@1"]
        rows = [json.loads(line) for line in (store.folder(manifest) / "dropped.jsonl").read_text().splitlines()]
        assert {row["operator"] for row in rows} >= {"exact-dedup", "refusals"}

        for bad, status, code in [
            ({**body, "ops": "normalize,no-such-op"}, 422, "invalid_request"),
            ({**body, "source": "nothing@1"}, 404, "dataset_not_found"),
            ({**body, "source": "logs@9"}, 404, "version_not_found"),
            ({key: value for key, value in body.items() if key != "into"}, 422, "invalid_request"),
            ({**body, "kind": "polish"}, 422, "invalid_request"),
        ]:
            refused = await client.post("/v1/jobs", json=bad, headers=AUTH)
            assert refused.status_code == status, refused.text
            assert refused.json()["error"] == code, refused.text
        assert "no-such-op" in (await client.post("/v1/jobs", json={**body, "ops": "no-such-op"}, headers=AUTH)).text
        assert [v.version for v in store.versions("logs")] == [1, 2]

        followed = await client.post("/v1/jobs", json={**body, "into": "logs-b"}, headers=AUTH)
        events = []
        async with client.stream("GET", f"/v1/jobs/{followed.json()['id']}/events", headers=AUTH) as stream:
            async for line in stream.aiter_lines():
                if line.startswith("data:"):
                    events.append(json.loads(line[5:]))
        last = events[-1]
        assert last["kind"] == "end" and last["status"] == "completed", events
        assert last["progress"]["target"] == len(DIRTY) and last["progress"]["accepted"] == summary["accepted"]
        assert store.resolve("logs-b").parents == ["logs@1"]
