"""Real processes for the fault-injection suite: ``dialogforge serve``, the fake LLM (with faults), counts.

Everything listens on loopback. Each test prints the counts it checked with :func:`report`, so a
run shows what was verified (``pytest tests/faults -s``).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from benchmarks.loopback import REPO, free_port, wait_until_up

ENDED = ("completed", "incomplete", "cancelled", "failed", "interrupted")


def report(test: str, **counts: object) -> None:
    """Print the counts a test checked, one line."""
    print(f"[faults] {test}: " + ", ".join(f"{name}={value}" for name, value in counts.items()))


class ServerProcess:
    """One ``dialogforge serve`` subprocess on a free port, its output appended to ``log``."""

    def __init__(self, data_dir: Path, llm_url: str, log: Path, **env: str) -> None:
        """Start the server and wait until ``/healthz`` answers."""
        self.data_dir, self.log_path = data_dir, log
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        environment = {
            **os.environ,
            "DIALOGFORGE_DATA_DIR": str(data_dir),
            "DIALOGFORGE_LLM_BASE_URL": llm_url,
            "DIALOGFORGE_SHUTDOWN_GRACE_S": "15",
            **env,
        }
        if "DIALOGFORGE_API_KEYS" not in env:
            environment.pop("DIALOGFORGE_API_KEYS", None)
        command = [sys.executable, "-m", "service.cli", "serve", "--port", str(self.port)]
        self.log = log.open("ab")
        self.process = subprocess.Popen(command, cwd=REPO, env=environment, stdout=self.log, stderr=subprocess.STDOUT)
        wait_until_up(f"{self.base}/healthz", self.process, timeout=120)  # e5 loads slowly on a busy machine

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        """GET a path of the server."""
        return httpx.get(f"{self.base}{path}", timeout=30, trust_env=False, **kwargs)

    def post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        """POST JSON to a path of the server."""
        return httpx.post(f"{self.base}{path}", json=body, timeout=30, trust_env=False)

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 60) -> int:
        """Send a signal and wait for the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        code = self.process.wait(timeout)
        self.log.close()
        return code

    def accepted_ids(self, job_id: str) -> list[str]:
        """Return the ids in the job's raw download, in order."""
        lines = self.get(f"/v1/jobs/{job_id}/dataset", params={"format": "raw"}).text.splitlines()
        return [json.loads(line)["id"] for line in lines]

    def wait_accepted(self, job_id: str, at_least: int, timeout: float = 120) -> dict[str, Any]:
        """Poll the job until it has ``at_least`` accepted samples."""
        return self._wait(job_id, lambda job: job["progress"]["accepted"] >= at_least, timeout, f"{at_least} accepted")

    def wait_ended(self, job_id: str, timeout: float = 180) -> dict[str, Any]:
        """Poll the job until it has ended."""
        return self._wait(job_id, lambda job: job["status"] in ENDED, timeout, "its end")

    def _wait(self, job_id: str, done: Any, timeout: float, what: str) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job: dict[str, Any] = self.get(f"/v1/jobs/{job_id}").json()
            if done(job):
                return job
            time.sleep(0.1)
        raise AssertionError(f"job {job_id} did not reach {what} in {timeout} s; log: {self.log_tail()}")

    def log_tail(self, chars: int = 3000) -> str:
        """Return the end of the server's log."""
        return self.log_path.read_text(errors="replace")[-chars:]


def stored_samples(data_dir: Path, job_id: str, status: str = "accepted") -> list[str]:
    """Return the ids of the job's samples with this status, read straight from the SQLite store."""
    with sqlite3.connect(data_dir / "dialogforge.db") as db:
        rows = db.execute("SELECT id FROM samples WHERE job_id = ? AND status = ?", (job_id, status)).fetchall()
    return [row[0] for row in rows]


def fake_llm_stats(llm_url: str) -> dict[str, int]:
    """Return the fake LLM's counters (calls, failed, hung, ...)."""
    health: dict[str, int] = httpx.get(llm_url.removesuffix("/v1") + "/health", timeout=10, trust_env=False).json()
    return health
