"""A ``dialogforge serve`` subprocess on a free port, the store it writes, and what tests count.

Used by the process-level tests in tests/integration and by the fault-injection suite
(tests/faults). Everything listens on loopback. Fault tests print the counts they checked with
:func:`report` (run with ``pytest -s``).
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

import httpx

from benchmarks.loopback import REPO, free_port, wait_until_up

# A Server prelude: the real ``dialogforge serve`` with the unit tests' fake models and embedder (no LLM server,
# no e5: the process starts in seconds). For tests of the process, not of generation.
FAKE_MODELS = """
import agents.embeddings, service.http.app
from tests.fakes import FakeEmbedder, fake_role_models
_create_app = service.http.app.create_app
service.http.app.create_app = lambda settings=None, **options: _create_app(
    settings, **{**options, "models": fake_role_models(), "embedder": FakeEmbedder()}
)
agents.embeddings.make_embedder = lambda *args, **kwargs: FakeEmbedder()
"""
STARTUP_S = 300
NO_LLM = "http://127.0.0.1:9/v1"  # never called with FAKE_MODELS


def report(test: str, **counts: object) -> None:
    """Print the counts a test checked, one line."""
    print(f"[faults] {test}: " + ", ".join(f"{name}={value}" for name, value in counts.items()))


class Server:
    """One ``dialogforge serve`` process on a free port."""

    def __init__(
        self, data_dir: Path, llm_url: str, log: Path, *, env: dict[str, str] | None = None, prelude: str = ""
    ) -> None:
        """Start the server; ``env`` adds variables; ``prelude`` is Python run before the CLI (to patch it)."""
        self.data_dir = data_dir
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
        # a bound, not a timing: e5 loads in ~10 s on a quiet machine, but 120 s was not enough at a load of 19
        wait_until_up(f"{self.base}/healthz", self.process, timeout=STARTUP_S)

    def get(self, path: str, **kwargs: object) -> httpx.Response:
        """GET a path (30 s between bytes: an event stream may pause while a busy machine makes a sample)."""
        return httpx.get(f"{self.base}{path}", timeout=30, trust_env=False, **kwargs)  # type: ignore[arg-type]

    def post(self, path: str, body: dict[str, object]) -> httpx.Response:
        """POST JSON to a path."""
        return httpx.post(f"{self.base}{path}", json=body, timeout=30, trust_env=False)

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout: float = 60) -> int:
        """Send ``sig`` (unless it has exited already) and return the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        code = self.process.wait(timeout)
        self.log.close()
        return code

    def accepted_ids(self, job_id: str) -> list[str]:
        """Return the ids of the job's raw download, in order."""
        lines = self.get(f"/v1/jobs/{job_id}/dataset", params={"format": "raw"}).text.splitlines()
        return [json.loads(line)["id"] for line in lines]

    def wait_accepted(self, job_id: str, at_least: int, timeout: float = 60) -> dict[str, object]:
        """Poll the job until it has ``at_least`` accepted samples."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.get(f"/v1/jobs/{job_id}").json()
            if job["progress"]["accepted"] >= at_least:
                return job  # type: ignore[no-any-return]
            time.sleep(0.05)
        raise AssertionError(f"job {job_id} did not reach {at_least} accepted in {timeout} s")

    def wait_ended(self, job_id: str, timeout: float = 120) -> dict[str, object]:
        """Poll the job until it is neither queued nor running."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.get(f"/v1/jobs/{job_id}").json()
            if job["status"] not in ("queued", "running"):
                return job  # type: ignore[no-any-return]
            time.sleep(0.2)
        raise AssertionError(f"job {job_id} did not end in {timeout} s; log: {self.log_tail()}")

    def log_tail(self, chars: int = 3000) -> str:
        """Return the end of the server's log."""
        return self.log_path.read_text(errors="replace")[-chars:]


def stored_accepted(data_dir: Path, job_id: str) -> list[str]:
    """Return the ids of a job's accepted samples in the store."""
    with sqlite3.connect(data_dir / "dialogforge.db") as db:
        rows = db.execute("SELECT id FROM samples WHERE job_id = ? AND status = 'accepted'", (job_id,)).fetchall()
    return [row[0] for row in rows]


def fake_llm_stats(llm_url: str) -> dict[str, int]:
    """Return the fake LLM server's counters (calls, failed, hung, ...)."""
    health: dict[str, int] = httpx.get(llm_url.removesuffix("/v1") + "/health", timeout=10, trust_env=False).json()
    return health
