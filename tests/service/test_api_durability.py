"""Durability in-process: idempotent sample writes, graceful shutdown marks jobs interrupted, restart resumes."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from agents.schemas import Lineage, Sample, Turn
from agents.styles import builtin_styles
from service.jobs.kinds.generate import GenerateJobRequest
from service.jobs.store import JobStore
from tests.service.api_support import TEST_STYLE, api_client, slow_role_models, wait_for_status


def _sample(sample_id: str, status: str = "accepted") -> Sample:
    turns = [Turn(role="user", content="hi"), Turn(role="assistant", content="hello")]
    return Sample(id=sample_id, status=status, system="s", turns=turns, lineage=Lineage(style="gentle", topic="t"))  # type: ignore[arg-type]


def test_store_writes_each_sample_once(tmp_path: Path) -> None:
    store = JobStore(tmp_path)
    store.create_job("job1", GenerateJobRequest(style="gentle", n=2), builtin_styles()["gentle"])
    assert store.add_sample("job1", _sample("a")) is True
    assert store.add_sample("job1", _sample("a")) is False
    assert store.add_sample("job1", _sample("b", "rejected")) is True
    assert store.count_samples("job1") == 1 and [s.id for s in store.samples("job1", None)] == ["a", "b"]
    store.close()
    reopened = JobStore(tmp_path)
    assert reopened.count_samples("job1") == 1
    journal = reopened._query("PRAGMA journal_mode")[0][0]
    assert journal == "wal"


async def _accepted_ids(client, job_id: str) -> list[str]:  # type: ignore[no-untyped-def]
    lines = (await client.get(f"/v1/jobs/{job_id}/dataset", params={"format": "raw"})).text.splitlines()
    return [json.loads(line)["id"] for line in lines]


async def test_shutdown_interrupts_and_restart_resumes_to_exactly_n(tmp_path: Path) -> None:
    models = slow_role_models(0.03)
    async with api_client(tmp_path, models=models) as (client, _):
        job = (await client.post("/v1/jobs", json={"style": TEST_STYLE, "n": 12, "concurrency": 2})).json()
        deadline = asyncio.get_running_loop().time() + 20
        while (await client.get(f"/v1/jobs/{job['id']}")).json()["progress"]["accepted"] < 3:
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.01)
    # the lifespan ended: in-flight samples finished, the job is marked interrupted
    store = JobStore(tmp_path)
    record = store.get_job(job["id"])
    assert record is not None and record.status == "interrupted"
    before = [sample.id for sample in store.samples(job["id"])]
    assert 3 <= len(before) < 12
    store.close()

    async with api_client(tmp_path, models=models, register_style=False) as (client, _):
        done = await wait_for_status(client, job["id"], {"completed", "incomplete", "failed"})
        assert done["status"] == "completed"
        assert done["summary"]["accepted"] == 12 and done["progress"]["accepted"] == 12
        ids = await _accepted_ids(client, job["id"])
        assert len(ids) == 12 and len(set(ids)) == 12
        assert set(before) <= set(ids)


async def test_jobs_left_running_resume_and_cancel_requests_are_honoured(tmp_path: Path) -> None:
    store = JobStore(tmp_path)
    pack = builtin_styles()["gentle"].model_copy(update={"min_exemplar_similarity": None})
    store.create_job("crashed", GenerateJobRequest(style="gentle", n=3), pack)
    store.update_job("crashed", status="running")
    store.add_sample("crashed", _sample("kept-1"))
    store.create_job("stopping", GenerateJobRequest(style="gentle", n=3), pack)
    store.update_job("stopping", status="running", cancel_requested=True)
    store.close()
    async with api_client(tmp_path, register_style=False) as (client, _):
        done = await wait_for_status(client, "crashed", {"completed", "incomplete", "failed"})
        assert done["status"] == "completed" and done["summary"]["accepted"] == 3
        ids = await _accepted_ids(client, "crashed")
        assert ids[0] == "kept-1" and len(set(ids)) == 3
        assert (await client.get("/v1/jobs/stopping")).json()["status"] == "cancelled"
