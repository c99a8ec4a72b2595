"""The real thing: ``dialogforge serve`` subprocesses against the fake OpenAI server, killed and restarted.

SIGKILL in the middle of a job, start again: the job resumes and ends with exactly n accepted
samples, ids unique, and every sample accepted before the kill kept. SIGTERM: the server stops
taking work, lets in-flight samples finish, marks the job interrupted and exits; the next start
finishes it.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.loopback import REPO, fake_llm_server, free_port
from tests.integration.serve_support import Server, stored_accepted

N = 12


@pytest.fixture
def fake_llm() -> Iterator[str]:
    with fake_llm_server(0.3) as base_url:
        yield base_url


def test_sigkill_mid_job_then_restart_resumes_to_exactly_n(tmp_path: Path, fake_llm: str) -> None:
    log = tmp_path / "server.log"
    first = Server(tmp_path / "data", fake_llm, log)
    job = first.post("/v1/jobs", {"style": "gentle", "n": N, "concurrency": 2}).json()
    first.wait_accepted(job["id"], 2)
    before = first.accepted_ids(job["id"])
    assert 0 < len(before) < N, "the job must be caught in the middle"
    first.stop(signal.SIGKILL)
    killed_with = stored_accepted(tmp_path / "data", job["id"])
    assert set(before) <= set(killed_with) and len(killed_with) < N

    second = Server(tmp_path / "data", fake_llm, log)
    try:
        done = second.wait_ended(job["id"])
        assert done["status"] == "completed", log.read_text()[-3000:]
        ids = second.accepted_ids(job["id"])
        assert len(ids) == N and len(set(ids)) == N
        assert set(killed_with) <= set(ids)
        assert sorted(stored_accepted(tmp_path / "data", job["id"])) == sorted(ids)
        assert done["summary"]["accepted"] == N  # type: ignore[index]
    finally:
        second.stop(signal.SIGTERM)


def test_sigterm_is_graceful_and_the_next_start_finishes_the_job(tmp_path: Path, fake_llm: str) -> None:
    log = tmp_path / "server.log"
    first = Server(tmp_path / "data", fake_llm, log)
    job = first.post("/v1/jobs", {"style": "gentle", "n": N, "concurrency": 2}).json()
    first.wait_accepted(job["id"], 2)
    started = time.monotonic()
    # uvicorn re-raises the captured SIGTERM once its graceful shutdown is done
    assert first.stop(signal.SIGTERM) in (0, -signal.SIGTERM)
    assert time.monotonic() - started < 20
    text = log.read_text()
    assert "shutdown: 1 jobs stopped" in text and "(0 cut short)" in text
    with sqlite3.connect(tmp_path / "data" / "dialogforge.db") as db:
        status, progress = db.execute("SELECT status, progress FROM jobs WHERE id = ?", (job["id"],)).fetchone()
    kept = stored_accepted(tmp_path / "data", job["id"])
    assert status == "interrupted" and json.loads(progress)["accepted"] == len(kept) < N
    assert json.loads(progress)["in_flight"] == 0  # in-flight samples finished before the exit

    second = Server(tmp_path / "data", fake_llm, log)
    try:
        done = second.wait_ended(job["id"])
        assert done["status"] == "completed"
        ids = second.accepted_ids(job["id"])
        assert len(ids) == N and len(set(ids)) == N and set(kept) <= set(ids)
    finally:
        second.stop(signal.SIGTERM)


def test_refuses_a_public_host_without_keys(tmp_path: Path) -> None:
    env = {**os.environ, "DIALOGFORGE_DATA_DIR": str(tmp_path)}
    env.pop("DIALOGFORGE_API_KEYS", None)
    command = [sys.executable, "-m", "service.cli", "serve", "--host", "0.0.0.0", "--port", str(free_port())]
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: refusing to listen on 0.0.0.0 without API keys: set DIALOGFORGE_API_KEYS or use --host 127.0.0.1"
    ]
