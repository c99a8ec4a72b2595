"""``dialogforge generate --executor ray`` on the real two-node local Ray cluster, against the fake LLM on loopback.

The job's runner, memory and store stay in the CLI process; each sample's loop runs on a worker
actor (one per node). A job of n must end with exactly n distinct accepted samples in the job
store and in its ``--into`` version, from workers on both nodes; a worker actor killed with
SIGKILL mid-job is restarted by Ray, its in-flight samples re-run, and the job still ends with
exactly n, none twice. The embedder is the fake server's (``openai:fake``), so no worker loads e5.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from benchmarks.hashed_embedder import HashedBigramEmbedder
from benchmarks.loopback import REPO, fake_llm_server
from graph.datasets.store import DatasetStore
from tests.integration.cli_support import dialogforge
from tests.integration.ray_cluster import LOOPBACK_ENV, RayCluster, cluster_pids
from tests.integration.test_cli_durability import stored_accepted
from tests.service.api_support import style_pack_yaml

WORKER_TITLE = "SampleWorker"
NEAR_DUPLICATE = 0.97
WORKER_EXIT_S = 10.0
"""Seconds a killed worker's process may take to exit after the job has returned."""


@pytest.fixture(scope="module")
def fake_llm() -> Iterator[str]:
    with fake_llm_server(0.2, embedding_latency_s=0.01) as base_url:
        yield base_url


def job_env(tmp_path: Path, base_url: str) -> dict[str, str]:
    return {
        **LOOPBACK_ENV,
        "DIALOGFORGE_DATA_DIR": str(tmp_path / "data"),
        "DIALOGFORGE_LLM_BASE_URL": base_url,
        "DIALOGFORGE_EMBEDDER": "openai:fake",
    }


def generate_args(tmp_path: Path, n: int, address: str) -> list[str]:
    """A Ray job of ``n`` in a pack whose bounds suit the fake server's hashed vectors."""
    pack = tmp_path / "cs-ray.yaml"
    yaml_text = style_pack_yaml("cs-ray", base="empathetic-cs", near_duplicate_similarity=NEAR_DUPLICATE)
    pack.write_text(yaml_text, encoding="utf-8")
    output = tmp_path / "out" / "cs.jsonl"
    args = ["generate", "--style", str(pack), "-n", str(n), "-f", "raw", "-o", str(output), "--concurrency", "4"]
    return [*args, "--into", "cs-ray", "--executor", "ray", "--ray-address", address]


def worker_pids(cluster: RayCluster) -> set[int]:
    """The processes of the cluster that host a sample worker actor."""
    found = set()
    for pid in cluster_pids(cluster.temp_dir):
        try:
            title = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if WORKER_TITLE in title:
            found.add(pid)
    return found


def check_exactly_n(tmp_path: Path, n: int) -> None:
    """Exactly n distinct accepted samples in the store, the export and the version; no near-duplicates."""
    stored = stored_accepted(tmp_path / "data")
    exported = [line for line in (tmp_path / "out" / "cs.jsonl").read_text(encoding="utf-8").splitlines() if line]
    version = [sample for batch in DatasetStore(tmp_path / "data").iter_samples("cs-ray@1") for sample in batch]
    assert len(stored) == len(set(stored)) == n
    assert len(exported) == n
    assert sorted(sample.id for sample in version) == sorted(stored)
    vectors = HashedBigramEmbedder().embed([sample.user_text() for sample in version])  # the server's vectors
    similarity = vectors @ vectors.T - 2 * np.eye(n)
    assert similarity.max() < NEAR_DUPLICATE, "two accepted samples are near-duplicates"


def test_generate_on_ray_makes_exactly_n_distinct_samples_on_both_nodes(
    tmp_path: Path, ray_cluster: RayCluster, fake_llm: str
) -> None:
    result = dialogforge(*generate_args(tmp_path, 8, ray_cluster.address), env=job_env(tmp_path, fake_llm), timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "8/8 accepted" in result.stdout
    assert "ray: 2 workers on 2 node(s)" in result.stdout, result.stdout
    check_exactly_n(tmp_path, 8)
    deadline = time.monotonic() + WORKER_EXIT_S  # Ray reported them dead; their processes may take a moment
    while worker_pids(ray_cluster) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not worker_pids(ray_cluster), f"the job's worker actors outlived it by {WORKER_EXIT_S:.0f} s"


def test_a_worker_killed_mid_job_loses_nothing_and_duplicates_nothing(
    tmp_path: Path, ray_cluster: RayCluster, fake_llm: str
) -> None:
    n = 16
    log = (tmp_path / "job.log").open("wb")
    command = [sys.executable, "-m", "service.cli", *generate_args(tmp_path, n, ray_cluster.address)]
    job = subprocess.Popen(command, cwd=REPO, env={**os.environ, **job_env(tmp_path, fake_llm)}, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 180
        while len(stored_accepted(tmp_path / "data")) < 2:
            assert job.poll() is None, (tmp_path / "job.log").read_text()
            assert time.monotonic() < deadline, "the Ray job accepted nothing in 180 s"
            time.sleep(0.05)
        workers = worker_pids(ray_cluster)
        assert len(workers) == 2, workers
        victim = min(workers)
        os.kill(victim, signal.SIGKILL)
        at_kill = len(stored_accepted(tmp_path / "data"))
        print(f"killed worker {victim} with {at_kill}/{n} accepted")
        assert at_kill < n, "the job must be caught in the middle"
        assert job.wait(300) == 0, (tmp_path / "job.log").read_text()[-3000:]
    finally:
        if job.poll() is None:
            job.kill()
            job.wait(10)
        log.close()
    output = (tmp_path / "job.log").read_text()
    assert f"{n}/{n} accepted" in output, output[-3000:]
    check_exactly_n(tmp_path, n)


def test_ray_generation_refuses_what_it_cannot_run_in_one_line(tmp_path: Path) -> None:
    """(An unreachable --ray-address is the same check as clean's, tested in test_ray_clean.py.)"""
    env = {"DIALOGFORGE_DATA_DIR": str(tmp_path / "data")}
    args = ["generate", "--style", "gentle", "-n", "2", "-o", str(tmp_path / "x.jsonl"), "--executor", "ray"]
    embedded = dialogforge(*args, env={**env, "DIALOGFORGE_LLM_BASE_URL": ""})
    local_address = dialogforge("generate", "--style", "gentle", "--ray-address", "auto", env=env)
    for result, expected in [
        (embedded, "error: executor ray needs a hosted LLM endpoint (DIALOGFORGE_LLM_BASE_URL)"),
        (local_address, "error: --ray-address is only used with --executor ray"),
    ]:
        assert result.returncode == 2, (result.stdout, result.stderr)
        assert result.stderr.startswith(expected), result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.jsonl").exists()
