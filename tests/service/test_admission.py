"""Atomic admission: the primitive, and ten simultaneous POST /v1/jobs against a limit of 4 (issue 16 finding 2)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from pathlib import Path

import pytest

from service.jobs.admission import Admission, Claim
from service.jobs.errors import LimitExceededError
from tests.service.api_support import TEST_STYLE, api_client, slow_role_models, wait_for_status


def test_acquire_takes_every_claim_or_none() -> None:
    admission = Admission()
    first = admission.acquire({"user:a": Claim(1, 2), "channel:c": Claim(30, 50)})
    with pytest.raises(LimitExceededError, match="channel c has 30 of 50: ask for at most 20") as refused:
        admission.acquire(
            {"user:a": Claim(1, 2), "channel:c": Claim(25, 50)},
            refusals={"channel:c": "channel c has {held} of {limit}: ask for at most {left}"},
            retry_after_s=7,
        )
    assert refused.value.retry_after_s == 7
    assert admission.held("user:a") == 1 and admission.held("channel:c") == 30  # nothing taken by the refusal
    first.release()
    first.release()  # idempotent
    assert admission.held("user:a") == 0 and admission.held("channel:c") == 0


def test_force_admits_over_the_limit_and_counts() -> None:
    admission = Admission()
    tickets = [admission.acquire({"jobs": Claim(1, 1)}, force=True) for _ in range(3)]
    assert admission.held("jobs") == 3
    with pytest.raises(LimitExceededError):
        admission.acquire({"jobs": Claim(1, 3)})
    for ticket in tickets:
        ticket.release()
    assert admission.held("jobs") == 0


def test_threads_racing_never_exceed_the_limit() -> None:
    admission, admitted, barrier = Admission(), [], threading.Barrier(16)

    def ask() -> None:
        barrier.wait()
        with contextlib.suppress(LimitExceededError):
            admitted.append(admission.acquire({"jobs": Claim(1, 4)}))

    threads = [threading.Thread(target=ask) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(admitted) == 4 and admission.held("jobs") == 4


async def test_ten_simultaneous_job_requests_with_limit_4_admit_exactly_4(tmp_path: Path) -> None:
    async with api_client(tmp_path, models=slow_role_models(0.2), max_concurrent_jobs=4) as (client, app):
        body = {"style": TEST_STYLE, "n": 3, "concurrency": 1}
        answers = await asyncio.gather(*(client.post("/v1/jobs", json=body) for _ in range(10)))
        codes = sorted(answer.status_code for answer in answers)
        print(f"10 simultaneous POST /v1/jobs, limit 4: {codes.count(202)} admitted, {codes.count(429)} refused")
        assert codes == [202] * 4 + [429] * 6
        refused = [answer for answer in answers if answer.status_code == 429]
        assert all(answer.headers["retry-after"] == "5" for answer in refused)
        assert all(answer.json()["error"] == "limit_exceeded" for answer in refused)
        assert "4 jobs are running (max 4)" in refused[0].json()["message"]
        listed = (await client.get("/v1/jobs")).json()
        assert listed["total"] == 4  # refused requests left nothing behind
        assert app.state.manager.running == 4
        for answer in answers:
            if answer.status_code == 202:
                await wait_for_status(client, answer.json()["id"], {"completed"}, timeout=60)
        assert app.state.manager.running == 0
        again = await client.post("/v1/jobs", json=body)
        assert again.status_code == 202  # the slots were given back
