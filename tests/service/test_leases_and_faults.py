"""Job leases, the data directory lock, storage-full detection and no unobserved job task death (in-process)."""

from __future__ import annotations

import asyncio
import errno
import sqlite3
import time
from pathlib import Path

import pytest

from agents.schemas import Lineage, Sample, Turn
from agents.styles import builtin_styles
from graph.faults import is_storage_full
from service.jobs.errors import LeaseLostError, StorageFullError
from service.jobs.models import JobRequest
from service.jobs.owner import DataDirInUseError, DataDirOwner, new_owner_id, owner_is_gone
from service.jobs.store import JobStore
from tests.service.api_support import TEST_STYLE, api_client, slow_role_models, wait_for_status

GENTLE = builtin_styles()["gentle"]


def _sample(sample_id: str) -> Sample:
    turns = [Turn(role="user", content="hi"), Turn(role="assistant", content="hello")]
    return Sample(id=sample_id, status="accepted", system="s", turns=turns, lineage=Lineage(style="gentle", topic="t"))


def test_a_lease_is_claimed_once_and_writes_check_it(tmp_path: Path) -> None:
    store = JobStore(tmp_path)
    first, second = new_owner_id(), new_owner_id()
    store.create_job("job1", JobRequest(style="gentle", n=2), GENTLE, owner=first, lease_s=30)
    assert store.claim_job("job1", second, 30) == first  # held and alive: refused, the holder named
    assert store.claim_job("job1", first, 30) is None  # the holder may renew
    store.add_sample("job1", _sample("a"), owner=first)
    with pytest.raises(LeaseLostError):
        store.add_sample("job1", _sample("b"), owner=second)
    assert store.renew_leases(second, ["job1"], 30) == ["job1"]

    store._db.execute("UPDATE jobs SET lease_until = ? WHERE id = 'job1'", (time.time() - 1,))  # expired
    assert store.claim_job("job1", second, 30) is None
    with pytest.raises(LeaseLostError):  # the old holder can no longer write
        store.add_sample("job1", _sample("c"), owner=first)
    assert store.renew_leases(first, ["job1"], 30) == ["job1"]
    store.update_job("job1", status="interrupted", owner=second, release=True)
    assert store.claim_job("job1", first, 30) is None  # released: free again
    assert [s.id for s in store.samples("job1")] == ["a"]
    store.close()


def test_a_lease_whose_holder_on_this_host_exited_is_free_at_once(tmp_path: Path) -> None:
    host = new_owner_id().split(":")[0]
    dead = f"{host}:{2**22 + 12345}:deadbeef"  # no such pid
    assert owner_is_gone(dead) and not owner_is_gone(new_owner_id()) and not owner_is_gone("elsewhere:1:x")
    store = JobStore(tmp_path)
    store.create_job("job1", JobRequest(style="gentle", n=2), GENTLE, owner=dead, lease_s=3600)
    assert store.claim_job("job1", new_owner_id(), 30) is None
    store.close()


def test_the_data_directory_has_one_owner(tmp_path: Path) -> None:
    refused = pytest.raises(DataDirInUseError, match=r"in use by dialogforge serve on port 1 \(pid \d+ on .*\)")
    with DataDirOwner(tmp_path, "dialogforge serve on port 1"), refused:
        DataDirOwner(tmp_path, "dialogforge generate").acquire()
    with DataDirOwner(tmp_path, "dialogforge generate"):  # released: free again
        pass


def test_storage_full_is_recognised_through_wrappers() -> None:
    full = sqlite3.OperationalError("database or disk is full")
    full.sqlite_errorcode = sqlite3.SQLITE_FULL  # type: ignore[attr-defined]
    wrapped = RuntimeError("write failed")
    wrapped.__cause__ = OSError(errno.ENOSPC, "No space left on device")
    chroma = Exception("Query error: Database error: error returned from database: (code: 13) database or disk is full")
    for exc in (full, wrapped, chroma, StorageFullError("the disk is full")):
        assert is_storage_full(exc)
    assert not is_storage_full(sqlite3.OperationalError("database is locked"))
    assert not is_storage_full(OSError(errno.EACCES, "Permission denied"))


def test_writes_below_the_reserve_are_refused_but_a_jobs_end_is_stored(tmp_path: Path) -> None:
    store = JobStore(tmp_path, reserve_bytes=2**62)  # more than any disk has free
    with pytest.raises(StorageFullError, match="free some space"):
        store.create_job("job1", JobRequest(style="gentle", n=2), GENTLE)
    store.reserve_bytes = 0
    store.create_job("job1", JobRequest(style="gentle", n=2), GENTLE, owner="me", lease_s=30)
    store.reserve_bytes = 2**62
    with pytest.raises(StorageFullError):
        store.add_sample("job1", _sample("a"), owner="me")
    store.update_job("job1", status="interrupted", error="disk full", owner="me", release=True)  # essential
    record = store.get_job("job1")
    assert record is not None and record.status == "interrupted"
    store.close()


async def test_a_job_whose_lease_another_process_took_stops_without_writing(tmp_path: Path) -> None:
    async with api_client(tmp_path, models=slow_role_models(0.05), job_lease_s=0.6) as (client, app):
        manager = app.state.manager
        job = (await client.post("/v1/jobs", json={"style": TEST_STYLE, "n": 40, "concurrency": 2})).json()
        while (await client.get(f"/v1/jobs/{job['id']}")).json()["progress"]["accepted"] < 2:
            await asyncio.sleep(0.02)
        manager.store._db.execute("UPDATE jobs SET owner = 'elsewhere:1:x' WHERE id = ?", (job["id"],))
        deadline = asyncio.get_running_loop().time() + 30
        while job["id"] in manager.executions():  # the upkeep finds the lease gone and stops the job here
            assert asyncio.get_running_loop().time() < deadline, "the job kept running without its lease"
            await asyncio.sleep(0.05)
        stored = manager.store.count_samples(job["id"])
        await asyncio.sleep(0.5)
        record = manager.store.get_job(job["id"])
        assert record is not None and record.status == "running"  # the new holder's job: nothing written over it
        assert manager.store.count_samples(job["id"]) == stored < 40


async def test_a_job_whose_end_cannot_be_written_still_ends_visibly(tmp_path: Path, monkeypatch, caplog) -> None:
    async with api_client(tmp_path, models=slow_role_models(0.01)) as (client, app):
        store = app.state.manager.store
        update = store.update_job

        def failing_end(job_id: str, **changes: object) -> None:
            if changes.get("release"):
                raise RuntimeError("the database went away")
            update(job_id, **changes)  # type: ignore[arg-type]

        monkeypatch.setattr(store, "update_job", failing_end)
        job = (await client.post("/v1/jobs", json={"style": TEST_STYLE, "n": 2})).json()
        ended = await wait_for_status(client, job["id"], {"completed"}, timeout=30)
        assert ended["summary"]["accepted"] == 2
        deadline = asyncio.get_running_loop().time() + 10
        while job["id"] in app.state.manager.executions():
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.02)
        assert job["id"] in app.state.manager.stalled  # kept visible (and resumable: the store says running)
        assert (await client.get(f"/v1/jobs/{job['id']}")).json()["status"] == "completed"
    assert "could not be stored" in caplog.text and "its task died" not in caplog.text
