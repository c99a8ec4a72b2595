"""One owner per data directory, and job leases (issue 16 finding 1), with real server processes.

Two ``dialogforge serve`` processes on one directory after a SIGKILL used to both resume the same
job: it ended with 48 rows for n=30 and twice the LLM spend. Now the second process is refused
in one line (the directory lock), and even with the lock bypassed (as a network file system may
do) a job is claimed atomically in the database: one process runs it, the other leaves it alone.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.loopback import REPO, fake_llm_server, free_port
from tests.integration.serve_support import Server, stored_accepted

N = 12
# What a file system whose locks do not hold looks like to dialogforge: the lock is never taken.
BYPASS_LOCK = """
try:
    import service.jobs.owner as owner
    owner.DataDirOwner.acquire = lambda self: self
except ImportError:
    pass
"""


@pytest.fixture
def fake_llm() -> Iterator[str]:
    with fake_llm_server(0.2) as base_url:
        yield base_url


def run_cli(data_dir: Path, llm_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DIALOGFORGE_DATA_DIR": str(data_dir), "DIALOGFORGE_LLM_BASE_URL": llm_url}
    env.pop("DIALOGFORGE_API_KEYS", None)
    command = [sys.executable, "-m", "service.cli", *args]
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)


def test_a_second_server_or_a_cli_job_on_the_directory_is_refused_in_one_line(tmp_path: Path, fake_llm: str) -> None:
    data_dir = tmp_path / "data"
    first = Server(data_dir, fake_llm, tmp_path / "server.log")
    try:
        second = run_cli(data_dir, fake_llm, "serve", "--port", str(free_port()))
        lines = second.stderr.strip().splitlines()
        print(f"second server: exit {second.returncode}: {lines}")
        assert second.returncode == 1 and len(lines) == 1, second.stderr[-2000:]
        assert lines[0].startswith(f"error: the data directory {data_dir} is in use by dialogforge serve on port")
        assert f"pid {first.process.pid}" in lines[0] and "DIALOGFORGE_DATA_DIR" in lines[0]

        cli = run_cli(data_dir, fake_llm, "generate", "--style", "gentle", "-n", "2", "-o", str(tmp_path / "o.jsonl"))
        lines = cli.stderr.strip().splitlines()
        assert cli.returncode == 1 and len(lines) == 1 and "is in use by dialogforge serve" in lines[0], cli.stderr
        assert first.get("/healthz").status_code == 200  # the owner is untouched
    finally:
        first.stop(signal.SIGTERM)
    again = Server(data_dir, fake_llm, tmp_path / "server.log")  # the owner stopped: the directory is free
    again.stop(signal.SIGTERM)


def test_with_the_lock_bypassed_two_servers_never_run_one_job_twice(tmp_path: Path, fake_llm: str) -> None:
    data_dir, log = tmp_path / "data", tmp_path / "first.log"
    first = Server(data_dir, fake_llm, log)
    job = first.post("/v1/jobs", {"style": "gentle", "n": N, "concurrency": 2}).json()
    first.wait_accepted(job["id"], 2)
    first.stop(signal.SIGKILL)
    killed_with = stored_accepted(data_dir, job["id"])
    assert 0 < len(killed_with) < N

    servers = [Server(data_dir, fake_llm, tmp_path / f"s{i}.log", prelude=BYPASS_LOCK) for i in (1, 2)]
    try:
        done = servers[0].wait_ended(job["id"], timeout=300)
        time.sleep(1.0)  # let a second runner, if there were one, store what it had in flight
        ids = stored_accepted(data_dir, job["id"])
        resumed = [s for s in servers if f"job {job['id']} resumed" in s.log_path.read_text()]
        print(
            f"after SIGKILL at {len(killed_with)}/{N}: {len(resumed)} of 2 servers resumed the job; "
            f"{len(ids)} accepted rows stored, {len(set(ids))} distinct; status {done['status']}"
        )
        assert done["status"] == "completed"
        assert len(resumed) == 1
        assert len(ids) == N == len(set(ids)) and set(killed_with) <= set(ids)
        # The other server found the lease taken ("not resumed here") or, on a quiet machine, started
        # after the job had ended; either way it ran nothing of it (the rows above are exactly N).
        other = next(s for s in servers if s not in resumed)
        assert f"job {job['id']} resumed" not in other.log_path.read_text()
    finally:
        for server in servers:
            server.stop(signal.SIGTERM)
