"""Client keys of job creations: the same key and request -> one job; another request -> 409; keys expire."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest

from agents.styles import builtin_styles
from service.jobs.client_keys import ClientKey
from service.jobs.errors import IdempotencyConflictError, InvalidRequestError
from service.jobs.kinds.generate import GenerateJobRequest
from service.jobs.store import JobStore
from tests.service.api_support import TEST_STYLE, api_client

GENTLE = builtin_styles()["gentle"]
REQUEST = GenerateJobRequest(style="gentle", n=2)


def key_rows(tmp_path: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(tmp_path / "dialogforge.db") as db:
        return db.execute("SELECT key, job_id FROM job_keys ORDER BY created").fetchall()


def test_the_same_key_and_request_make_one_job(tmp_path: Path) -> None:
    store = JobStore(tmp_path)
    key = ClientKey.of("http:k1", REQUEST)
    first = store.create_job("job-a", REQUEST, GENTLE, key=key)
    again = store.create_job("job-b", REQUEST, GENTLE, key=key)
    assert first.id == again.id == "job-a"
    assert store.list_jobs(0, 10)[1] == 1
    assert store.job_for_key(key) == first
    assert store.job_for_key(ClientKey.of("http:other", REQUEST)) is None
    store.close()


def test_the_same_key_with_another_request_is_a_conflict_naming_the_job(tmp_path: Path) -> None:
    store = JobStore(tmp_path)
    store.create_job("job-a", REQUEST, GENTLE, key=ClientKey.of("http:k1", REQUEST))
    other = GenerateJobRequest(style="gentle", n=3)
    with pytest.raises(IdempotencyConflictError, match="job-a with another request"):
        store.create_job("job-b", other, GENTLE, key=ClientKey.of("http:k1", other))
    with pytest.raises(IdempotencyConflictError):
        store.job_for_key(ClientKey.of("http:k1", other))
    assert store.list_jobs(0, 10)[1] == 1
    store.close()


def test_keys_expire_and_are_deleted_when_a_new_one_is_written(tmp_path: Path) -> None:
    store = JobStore(tmp_path, key_ttl_s=0.2)
    key = ClientKey.of("http:k1", REQUEST)
    store.create_job("job-a", REQUEST, GENTLE, key=key)
    time.sleep(0.3)
    assert store.job_for_key(key) is None  # expired: a retry this late is a new creation
    assert store.create_job("job-b", REQUEST, GENTLE, key=key).id == "job-b"
    assert key_rows(tmp_path) == [("http:k1", "job-b")]
    time.sleep(0.3)
    store.create_job("job-c", REQUEST, GENTLE, key=ClientKey.of("http:k2", REQUEST))
    assert key_rows(tmp_path) == [("http:k2", "job-c")]  # the expired key was deleted
    store.close()


@pytest.mark.parametrize("bad", ["", "has space", "x" * 301, "é"])
def test_a_key_must_be_short_visible_ascii(bad: str) -> None:
    with pytest.raises(InvalidRequestError, match="visible ASCII"):
        ClientKey.of(bad, REQUEST)


async def test_the_manager_returns_the_keyed_job_even_at_the_job_limit_and_under_a_race(tmp_path: Path) -> None:
    async with api_client(tmp_path, max_concurrent_jobs=1) as (_, app):
        manager = app.state.manager
        request = GenerateJobRequest(style=TEST_STYLE, n=2)
        records = await asyncio.gather(*(manager.start(request, key="http:race") for _ in range(6)))
        assert len({record.id for record in records}) == 1
        assert (await manager.list()).total == 1
        assert (await manager.start(request, key="http:race")).id == records[0].id  # no 429 for a retry
