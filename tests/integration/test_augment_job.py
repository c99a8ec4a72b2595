"""``augment`` as a durable job through the real stack: the CLI in a subprocess SIGKILLed and resumed, and
``POST /v1/jobs {"kind": "augment"}`` on a ``dialogforge serve`` subprocess (uvicorn on loopback), followed
over SSE, killed and restarted. The LLM and the embeddings are the fake OpenAI server on loopback.

What is checked: every child key (parent, operator, variant) is made once across runs, every accepted
child stored before the kill is in the version, and the version is partial only when the job was stopped.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from benchmarks.loopback import REPO, fake_llm_server
from graph.datasets.store import DatasetStore
from tests.graph.datasets.helpers import sharegpt, write_jsonl
from tests.integration.cli_support import cli_command, dialogforge
from tests.integration.serve_support import Server

THINGS = ["猫生病了", "加班到十点", "下雨忘带伞", "考试没考好", "搬家好累", "面试紧张"]
ROWS = [sharegpt(f"我今天{thing}，心里好乱", f"{thing}真的辛苦啦，先深呼吸一下呢，想和我聊聊吗？") for thing in THINGS]
ENV = {"DIALOGFORGE_EMBEDDER": "openai:fake"}
AUGMENT = ["augment", "cs@1", "--ops", "paraphrase", "--per-sample", "2", "--style", "gentle"]
AUGMENT += ["--set", "paraphrase.min_similarity=0", "--concurrency", "2", "--into", "cs"]
TOTAL = len(ROWS) * 2  # 6 parents x 1 operator x 2 children each


@pytest.fixture
def fake_llm() -> Iterator[str]:
    with fake_llm_server(0.15) as base_url:
        yield base_url


def imported(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    source = write_jsonl(tmp_path / "cs.jsonl", ROWS)
    result = dialogforge(
        "datasets", "import", str(source), "--name", "cs", env={**ENV, "DIALOGFORGE_DATA_DIR": str(data)}
    )
    assert result.returncode == 0, result.stderr
    return data


def stored_children(data: Path) -> list[dict[str, Any]]:
    """Every child the job store holds (accepted and rejected), as JSON."""
    path = data / "dialogforge.db"
    if not path.exists():
        return []
    try:
        with sqlite3.connect(path, timeout=5) as db:
            return [json.loads(row[0]) for row in db.execute("SELECT data FROM samples")]
    except sqlite3.OperationalError:  # the tables are still being created
        return []


def keys(children: list[dict[str, Any]]) -> Counter[tuple[str, str, int]]:
    return Counter(
        (c["lineage"]["parent_id"], c["lineage"]["operator"], c["lineage"]["params"]["variant"]) for c in children
    )


def wait_for(data: Path, at_least: int, process: subprocess.Popen[bytes] | Server) -> None:
    deadline = time.monotonic() + 120
    while len(stored_children(data)) < at_least:
        proc = process.process if isinstance(process, Server) else process
        assert proc.poll() is None, "the job ended before it could be killed"
        assert time.monotonic() < deadline, f"fewer than {at_least} children stored in 120 s"
        time.sleep(0.05)


def check_version(data: Path, children: list[dict[str, Any]]) -> None:
    """The version holds the parents and every accepted child once; it is not partial."""
    store = DatasetStore(data)
    manifest = store.resolve("cs@2")
    assert manifest.operation == "augment" and manifest.parents == ["cs@1"] and not manifest.partial
    rows = [row for batch in store.iter_samples("cs@2") for row in batch]
    accepted = {c["id"] for c in children if c["status"] == "accepted"}
    assert {row.id for row in rows if row.lineage.origin == "augmented"} == accepted
    assert sum(row.lineage.origin == "import" for row in rows) == len(ROWS) == len(rows) - len(accepted)
    rejected = sum(count for reason, count in manifest.dropped.items() if reason.startswith("rejected "))
    assert len(accepted) + rejected == TOTAL


def test_cli_augment_killed_and_resumed_makes_every_child_once(tmp_path: Path, fake_llm: str) -> None:
    data = imported(tmp_path)
    env = {**os.environ, **ENV, "DIALOGFORGE_DATA_DIR": str(data), "DIALOGFORGE_LLM_BASE_URL": fake_llm}
    with (tmp_path / "first.log").open("wb") as log:
        first = subprocess.Popen(cli_command(*AUGMENT), cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        wait_for(data, 2, first)
        first.send_signal(signal.SIGKILL)
        first.wait(30)
    before = stored_children(data)
    assert 2 <= len(before) < TOTAL, "the job must be caught in the middle"
    assert DatasetStore(data).versions("cs")[-1].version == 1  # nothing written yet

    second = subprocess.run(
        cli_command(*AUGMENT, "--resume"), cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )
    assert second.returncode == 0, second.stdout + second.stderr[-3000:]
    assert "continuing job" in second.stderr and "wrote cs@2" in second.stdout, second.stdout + second.stderr
    children = stored_children(data)
    assert set(keys(children).values()) == {1} and len(children) == TOTAL  # each child made once
    assert {c["id"] for c in before} <= {c["id"] for c in children}
    check_version(data, children)


def test_http_augment_job_streams_progress_survives_a_server_kill_and_refuses_bad_input(
    tmp_path: Path, fake_llm: str
) -> None:
    data = imported(tmp_path)
    body = {
        "kind": "augment", "source": "cs@1", "into": "cs", "style": "gentle", "per_sample": 2, "concurrency": 2,
        "ops": [{"op": "paraphrase", "min_similarity": 0}],
    }  # fmt: skip
    first = Server(data, fake_llm, tmp_path / "first.log", env=ENV)
    try:
        for bad, status, code in [
            ({**body, "ops": [{"op": "paraphrse"}]}, 422, "invalid_request"),
            ({**body, "ops": [{"op": "paraphrase", "max_overlaps": 1}]}, 422, "invalid_request"),
            ({**body, "source": "cs@7"}, 404, "version_not_found"),
            ({**body, "ops": [{"op": "style-transfer"}], "style": None}, 422, "invalid_request"),
        ]:
            refused = first.post("/v1/jobs", bad)
            assert refused.status_code == status and refused.json()["error"] == code, (bad, refused.text)
        created = first.post("/v1/jobs", body)
        assert created.status_code == 202, created.text
        job_id = created.json()["id"]
        events = []
        with httpx.stream("GET", f"{first.base}/v1/jobs/{job_id}/events", timeout=30, trust_env=False) as stream:
            for line in stream.iter_lines():
                if line.startswith("data:"):
                    events.append(json.loads(line[5:]))
                    if sum(event["kind"] == "sample" for event in events) >= 2:
                        break
        samples = [event for event in events if event["kind"] == "sample"]
        assert samples[0]["sample_status"] in ("accepted", "rejected") and samples[-1]["progress"]["target"] == TOTAL
        wait_for(data, 2, first)
    finally:
        first.stop(signal.SIGKILL)
    before = stored_children(data)
    assert len(before) < TOTAL, "the server must be killed in the middle"

    second = Server(data, fake_llm, tmp_path / "second.log", env=ENV)  # resumes the job by itself
    try:
        deadline = time.monotonic() + 180
        while (job := second.get(f"/v1/jobs/{job_id}").json())["status"] in ("queued", "running", "interrupted"):
            assert time.monotonic() < deadline, job
            time.sleep(0.2)
    finally:
        second.stop()
    assert job["status"] == "completed" and job["version"] == "cs@2", job
    summary = job["summary"]
    children = stored_children(data)
    assert set(keys(children).values()) == {1} and len(children) == TOTAL
    assert (
        summary["accepted"]
        == summary["accepted_by_operator"]["paraphrase"]
        == sum(c["status"] == "accepted" for c in children)
    )
    assert summary["accepted"] + summary["rejected"] == TOTAL and summary["llm_calls"] > 0
    check_version(data, children)
