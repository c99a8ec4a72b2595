"""``POST /v1/jobs {"kind": "clean"}`` over real HTTP (uvicorn on loopback): a durable job writes the version."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from agents.llm import RoleModels
from graph.datasets.importer import ImportOptions, import_sources
from graph.datasets.store import DatasetStore
from service.http.app import create_app
from tests.fakes import FakeEmbedder, fake_role_models
from tests.graph.datasets.helpers import write_jsonl
from tests.integration.chat_stack import serving
from tests.integration.test_cli_clean import DIRTY
from tests.service.api_support import make_settings, slow_role_models

AUTH = {"Authorization": "Bearer k1"}


@asynccontextmanager
async def _serve(tmp_path: Path, models: RoleModels) -> AsyncIterator[tuple[str, DatasetStore]]:
    """Serve the real app on a loopback port over a data dir holding ``logs@1`` (the DIRTY rows)."""
    settings = make_settings(tmp_path, api_keys="k1")
    store = DatasetStore(settings.data_dir)
    import_sources(store, "logs", [str(write_jsonl(tmp_path / "in.jsonl", DIRTY))], ImportOptions())
    async with serving(create_app(settings, models=models, embedder=FakeEmbedder())) as base_url:
        yield base_url, store


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[str, DatasetStore]]:
    async with _serve(tmp_path, fake_role_models()) as served_app:
        yield served_app


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

        semantic = await client.post("/v1/jobs", json={**body, "into": "logs-s", "ops": "semantic-dedup"}, headers=AUTH)
        assert (await _ended(client, semantic.json()["id"]))["status"] == "completed"
        folder = store.folder(store.resolve("logs-s"))
        [dropped] = [json.loads(line) for line in (folder / "dropped.jsonl").read_text().splitlines()]
        assert dropped["code"] == "paraphrase" and dropped["duplicate_of"]  # the kept row it rewords


async def test_a_clean_job_streams_throttled_progress_before_its_end(tmp_path: Path) -> None:
    """A judged cleaning, one row a batch, takes >= 7 x 0.15 s: progress events (rows read, kept) come first."""
    body = {
        "kind": "clean", "source": "logs@1", "into": "judged", "ops": "judge:gentle", "style": "gentle",
        "batch_rows": 1, "workers": 0, "concurrency": 1,
    }  # fmt: skip
    async with (
        _serve(tmp_path, slow_role_models(0.15)) as (base_url, _),
        httpx.AsyncClient(base_url=base_url, timeout=60) as client,
    ):
        created = await client.post("/v1/jobs", json=body, headers=AUTH)
        assert created.status_code == 202, created.text
        job_id = created.json()["id"]
        events: list[tuple[str, dict[str, Any]]] = []
        live: dict[str, Any] | None = None
        async with client.stream("GET", f"/v1/jobs/{job_id}/events", headers=AUTH) as stream:
            name = ""
            async for line in stream.aiter_lines():
                if line.startswith("event:"):
                    name = line[6:].strip()
                elif line.startswith("data:"):
                    events.append((name, json.loads(line[5:])))
                    if name == "progress" and live is None:
                        live = (await client.get(f"/v1/jobs/{job_id}", headers=AUTH)).json()
    kinds = [name for name, _ in events]
    assert kinds[0] == "snapshot" and kinds[-1] == "end" and "progress" in kinds, kinds
    ticks = [data for name, data in events if name == "progress"]
    assert all(data["kind"] == "progress" and data["status"] == "running" for data in ticks)
    read = [tick["progress"]["accepted"] + tick["progress"]["rejected"] for tick in ticks]
    assert read == sorted(read) and 0 < read[0] < len(DIRTY), read  # counted while the job ran, never backwards
    assert all(tick["progress"]["target"] == len(DIRTY) for tick in ticks)
    assert len(ticks) <= len(DIRTY), ticks  # at most one a batch (and at most four a second)
    assert live is not None and live["progress"]["accepted"] + live["progress"]["rejected"] >= read[0]
    end = events[-1][1]
    assert end["status"] == "completed", end
    assert end["progress"]["accepted"] + end["progress"]["rejected"] == len(DIRTY)
