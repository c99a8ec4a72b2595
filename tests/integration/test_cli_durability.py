"""``dialogforge generate`` in a subprocess, killed with SIGKILL mid-job, then continued with ``--resume``.

Issue 16 finding 4: the CLI used to write its output only at the end, so a SIGKILL at 12/40 lost
all 12. Now every accepted sample is in the job store when it is counted; ``--resume`` with the
same arguments continues the same job to exactly n, and the export (and the ``--into`` version)
holds every sample kept.
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

from benchmarks.loopback import REPO, fake_llm_server
from graph.datasets.store import DatasetStore

N = 8


@pytest.fixture
def fake_llm() -> Iterator[str]:
    with fake_llm_server(0.1) as base_url:
        yield base_url


def stored_accepted(data_dir: Path) -> list[str]:
    """Return the ids of the accepted samples in the store (none while it does not exist yet)."""
    path = data_dir / "dialogforge.db"
    if not path.exists():
        return []
    try:
        with sqlite3.connect(path, timeout=5) as db:
            return [row[0] for row in db.execute("SELECT id FROM samples WHERE status = 'accepted'")]
    except sqlite3.OperationalError:  # the CLI is still creating the tables
        return []


def generate_command(output: Path) -> list[str]:
    args = ["generate", "--style", "gentle", "-n", str(N), "-f", "raw", "-o", str(output), "--concurrency", "2"]
    args += ["--into", "gentle-kept"]
    return [sys.executable, "-m", "service.cli", *args]


def test_sigkill_mid_job_loses_nothing_and_resume_ends_with_exactly_n(tmp_path: Path, fake_llm: str) -> None:
    data_dir, output = tmp_path / "data", tmp_path / "out" / "gentle.jsonl"
    env = {**os.environ, "DIALOGFORGE_DATA_DIR": str(data_dir), "DIALOGFORGE_LLM_BASE_URL": fake_llm}
    log = (tmp_path / "first.log").open("wb")
    first = subprocess.Popen(generate_command(output), cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while len(stored_accepted(data_dir)) < 2:
        assert first.poll() is None, (tmp_path / "first.log").read_text()
        assert time.monotonic() < deadline, "the job did not accept 2 samples in 120 s"
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait(30)
    log.close()
    kept = stored_accepted(data_dir)
    print(f"killed with {len(kept)} accepted samples stored (n={N})")
    assert 2 <= len(kept) < N, "the job must be caught in the middle"

    second = subprocess.run(
        [*generate_command(output), "--resume"], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    assert second.returncode == 0, second.stderr[-3000:]
    assert "continuing job" in second.stderr
    ids = [json.loads(line)["id"] for line in output.read_text(encoding="utf-8").splitlines()]
    stored = stored_accepted(data_dir)
    print(f"after --resume: {len(ids)} exported, {len(set(ids))} distinct, {len(stored)} in the store")
    assert len(ids) == N == len(set(ids))
    assert set(kept) <= set(ids) and sorted(stored) == sorted(ids)
    versions = DatasetStore(data_dir).versions("gentle-kept")
    in_version = [sample.id for batch in DatasetStore(data_dir).iter_samples("gentle-kept@1") for sample in batch]
    print(f"--into: {[m.ref for m in versions]} with {len(in_version)} rows")
    assert [m.ref for m in versions] == ["gentle-kept@1"] and sorted(in_version) == sorted(ids)
