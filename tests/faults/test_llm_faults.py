"""A misbehaving LLM: 30% of calls answer 429/5xx, or calls hang past the client's timeout.

The server runs as a real process against the fake OpenAI server with faults switched on. The job
must still end ``completed`` with exactly n accepted samples, no duplicated id, and the store's
rows equal to the download; the fake's counters prove the faults happened.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchmarks.loopback import fake_llm_server
from tests.integration.serve_support import Server, fake_llm_stats, report, stored_accepted

N = 8


def run_job(tmp_path: Path, llm_url: str, **env: str) -> dict[str, Any]:
    """Run one job of N on a real server; check exactly N, distinct, store = download; return the counts."""
    server = Server(tmp_path / "data", llm_url, tmp_path / "server.log", env=env)
    try:
        job = server.post("/v1/jobs", {"style": "gentle", "n": N, "concurrency": 4}).json()
        done = server.wait_ended(job["id"], timeout=240)
        assert done["status"] == "completed", (done["status"], json.dumps(done["summary"])[:1500])
        ids, stored = server.accepted_ids(job["id"]), stored_accepted(tmp_path / "data", job["id"])
    finally:
        server.stop()
    assert len(ids) == N and len(set(ids)) == N and sorted(stored) == sorted(ids)
    progress: Any = done["progress"]
    assert progress["in_flight"] == 0
    counts = {"n": N, "accepted": len(ids), "duplicates": len(ids) - len(set(ids))}
    return counts | {"store_rows": len(stored), "download_rows": len(ids), "rejected": progress["rejected"]}


def test_thirty_percent_429_and_5xx_still_make_exactly_n(tmp_path: Path) -> None:
    with fake_llm_server(0.05, fail_rate=0.3, seed=16) as llm_url:
        counts = run_job(tmp_path, llm_url)
        stats = fake_llm_stats(llm_url)
    assert stats["failed"] >= 3, stats  # the faults really happened
    report("LLM 30% 429/5xx", **counts, llm_calls=stats["calls"], llm_failures=stats["failed"])


def test_calls_that_hang_past_the_timeout_are_retried_and_the_job_ends(tmp_path: Path) -> None:
    with fake_llm_server(0.05, hang_rate=0.2, hang_s=60, seed=16) as llm_url:
        counts = run_job(tmp_path, llm_url, DIALOGFORGE_LLM_TIMEOUT_S="1")
        stats = fake_llm_stats(llm_url)
    assert stats["hung"] >= 2, stats
    report("LLM hangs past a 1 s timeout", **counts, llm_calls=stats["calls"], llm_hung=stats["hung"])
