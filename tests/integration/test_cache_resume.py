"""A job killed in the middle and resumed pays for no call twice (counted at the fake provider).

``dialogforge serve`` runs as a subprocess over the real job store and call cache; SIGKILL in the
middle of a job, start again. The fake provider counts requests that repeat an earlier one byte
for byte: only calls that were still in flight at the kill (never answered, so never cached) may
be sent again; every answered call of an interrupted sample is replayed from the cache.
"""

from __future__ import annotations

import signal
import sqlite3
import time
from pathlib import Path

import httpx

from benchmarks.loopback import fake_llm_server
from tests.integration.test_service_restart import Server


def provider(base_url: str) -> dict[str, int]:
    return httpx.get(base_url.removesuffix("/v1") + "/health", timeout=5, trust_env=False).json()


def _when_an_unstored_call_was_answered(server: Server, job_id: str, llm: str, timeout: float = 60) -> dict[str, int]:
    """Wait until the provider has answered more calls than the job's stored samples made.

    Then a sample still in flight has an answered call in the cache. On a loaded machine the
    samples in flight at the third acceptance may all still wait for their first answer, and a
    kill then leaves nothing to replay (the test failed so under the full suite).
    """
    deadline = time.monotonic() + timeout
    while True:
        stats = provider(llm)
        stored = server.get(f"/v1/jobs/{job_id}").json()["progress"]["llm_calls"]
        if stats["calls"] - stats["in_flight"] > stored or time.monotonic() > deadline:
            return stats
        time.sleep(0.02)


def test_a_resumed_job_makes_no_call_twice(tmp_path: Path) -> None:
    with fake_llm_server(0.3) as llm:
        log = tmp_path / "server.log"
        first = Server(tmp_path / "data", llm, log)
        job = first.post("/v1/jobs", {"style": "gentle", "n": 10, "concurrency": 4}).json()
        first.wait_accepted(job["id"], 3)
        _when_an_unstored_call_was_answered(first, job["id"], llm)
        first.stop(signal.SIGKILL)
        at_kill = provider(llm)  # the server is gone: every call it made is counted
        assert at_kill["repeated"] == 0
        with sqlite3.connect(tmp_path / "data" / "cache.db") as db:
            cached = db.execute("SELECT COUNT(*) FROM entries WHERE kind = 'chat'").fetchone()[0]
        # a call whose answer was not in the cache at the kill (in flight, or answered but not yet
        # written) may be sent again; every other call must not
        uncached = at_kill["calls"] - cached

        second = Server(tmp_path / "data", llm, log)
        try:
            done = second.wait_ended(job["id"])
            assert done["status"] == "completed", log.read_text()[-3000:]
        finally:
            second.stop(signal.SIGTERM)
        after = provider(llm)
    assert after["repeated"] <= uncached, (at_kill, cached, after)  # only the calls never cached again
    summary = done["summary"]
    assert summary["accepted"] == 10  # type: ignore[index]
    # the interrupted samples' answered calls came from the cache (at the kill at least one had an answer)
    assert summary["cache_hits"] >= 1, summary  # type: ignore[index]
