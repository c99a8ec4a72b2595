"""A ``dialogforge serve`` subprocess on a free port, and the store it writes, for integration tests."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx

from benchmarks.loopback import REPO, free_port, wait_until_up


class Server:
    """One ``dialogforge serve`` process on a free port."""

    def __init__(
        self, data_dir: Path, llm_url: str, log: Path, *, env: dict[str, str] | None = None, prelude: str = ""
    ) -> None:
        """Start the server; ``env`` adds variables; ``prelude`` is Python run before the CLI (to patch it)."""
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        environment = {
            **os.environ,
            "DIALOGFORGE_DATA_DIR": str(data_dir),
            "DIALOGFORGE_LLM_BASE_URL": llm_url,
            "DIALOGFORGE_SHUTDOWN_GRACE_S": "15",
            **(env or {}),
        }
        environment.pop("DIALOGFORGE_API_KEYS", None)
        entry = f"{prelude}\nfrom service.cli.main import main\nmain()"
        command = [sys.executable, "-c", entry, "serve", "--port", str(self.port)]
        self.log_path = log
        self.log = log.open("ab")
        self.process = subprocess.Popen(command, cwd=REPO, env=environment, stdout=self.log, stderr=subprocess.STDOUT)
        wait_until_up(f"{self.base}/healthz", self.process, timeout=120)  # e5 loads slowly on a busy machine

    def get(self, path: str, **kwargs: object) -> httpx.Response:
        return httpx.get(f"{self.base}{path}", timeout=10, trust_env=False, **kwargs)  # type: ignore[arg-type]

    def post(self, path: str, body: dict[str, object]) -> httpx.Response:
        return httpx.post(f"{self.base}{path}", json=body, timeout=10, trust_env=False)

    def stop(self, sig: signal.Signals, timeout: float = 30) -> int:
        self.process.send_signal(sig)
        code = self.process.wait(timeout)
        self.log.close()
        return code

    def accepted_ids(self, job_id: str) -> list[str]:
        lines = self.get(f"/v1/jobs/{job_id}/dataset", params={"format": "raw"}).text.splitlines()
        return [json.loads(line)["id"] for line in lines]

    def wait_accepted(self, job_id: str, at_least: int, timeout: float = 60) -> dict[str, object]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.get(f"/v1/jobs/{job_id}").json()
            if job["progress"]["accepted"] >= at_least:
                return job  # type: ignore[no-any-return]
            time.sleep(0.05)
        raise AssertionError(f"job {job_id} did not reach {at_least} accepted in {timeout} s")

    def wait_ended(self, job_id: str, timeout: float = 120) -> dict[str, object]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.get(f"/v1/jobs/{job_id}").json()
            if job["status"] not in ("queued", "running"):
                return job  # type: ignore[no-any-return]
            time.sleep(0.2)
        raise AssertionError(f"job {job_id} did not end in {timeout} s")


def stored_accepted(data_dir: Path, job_id: str) -> list[str]:
    """Return the ids of a job's accepted samples in the store."""
    with sqlite3.connect(data_dir / "dialogforge.db") as db:
        rows = db.execute("SELECT id FROM samples WHERE job_id = ? AND status = 'accepted'", (job_id,)).fetchall()
    return [row[0] for row in rows]
