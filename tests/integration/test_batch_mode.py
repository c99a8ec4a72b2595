"""Batch mode through the real stack: the openai SDK against the fake Files/Batches API on loopback, SQLite on disk."""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from agents.batch_api import BatchClient
from agents.batching import BatchDispatcher, BatchOptions
from agents.styles import StylePack, resolve_style
from benchmarks.hashed_embedder import HashedBigramEmbedder
from benchmarks.loopback import fake_llm_server
from graph.progress import JobSummary
from graph.runner import JobRunner
from service.engine import Engine
from service.jobs.batch_ledger import SqliteBatchLedger
from service.settings import Settings
from tests.integration.cli_support import cli_command, dialogforge


def health(base_url: str) -> dict[str, Any]:
    return dict(httpx.get(base_url.removesuffix("/v1") + "/health", timeout=5, trust_env=False).json())


def pack() -> StylePack:
    style = resolve_style("empathetic-cs")  # bounds that hashed vectors pass, as in the benchmarks
    return style.model_copy(update={"min_exemplar_similarity": 0.1, "near_duplicate_similarity": 0.97})


def engine_for(base_url: str, data_dir: Path, **settings: Any) -> Engine:
    config = Settings(
        llm_base_url=base_url, data_dir=data_dir, batch_window_s=0.2, batch_poll_s=0.05, llm_max_retries=1, **settings
    )
    return Engine.start(config, embedder=HashedBigramEmbedder())


def run(engine: Engine, n: int, job_id: str | None = None) -> tuple[JobSummary, JobRunner]:
    runner = JobRunner(engine.loop_deps(pack(), "ws", batch=True, job_id=job_id, seed=3), n, concurrency=n)
    return asyncio.run(runner.run()), runner


def test_a_batch_job_makes_exactly_n_with_its_calls_in_batches_per_stage(tmp_path: Path) -> None:
    with fake_llm_server(0.01, batch_latency_s=0.2) as base_url:
        engine = engine_for(base_url, tmp_path)
        try:
            summary, runner = run(engine, 10)
        finally:
            engine.stop()
        served = health(base_url)
    assert summary.accepted == 10 and summary.stop_reason == "completed"
    assert summary.batches is not None and {"generate", "judge"} <= set(summary.batches)
    for stage, stats in summary.batches.items():  # every call of a stage went in a batch and was answered
        assert stats.requests == stats.answered == served["batch_requests_by_stage"][stage], stage
        assert stats.live_fallbacks == 0 and stats.open_batches == 0
    brainstorms = summary.tokens["topics"].calls if "topics" in summary.tokens else 0
    assert served["calls"] == brainstorms  # only topic brainstorms are live
    assert summary.llm_calls == served["batch_requests"] + served["calls"]
    assert all(sample.lineage.job_id == summary.job_id and sample.turns for sample in runner.accepted)
    ledger = SqliteBatchLedger(tmp_path)
    recorded = ledger.all_batches(summary.job_id)
    ledger.close()
    assert len(recorded) == served["batches"] and {entry.status for entry in recorded} == {"completed"}


def test_a_restarted_batch_job_adopts_its_submissions_instead_of_sending_them_again(tmp_path: Path) -> None:
    with fake_llm_server(0.01, batch_latency_s=2.0) as base_url:
        engine = engine_for(base_url, tmp_path)
        runner = JobRunner(engine.loop_deps(pack(), "ws", batch=True, job_id="job-1", seed=3), 6, concurrency=6)

        async def crash_after_first_submission() -> None:
            task = asyncio.ensure_future(runner.run())
            while not health(base_url)["batches"]:
                await asyncio.sleep(0.05)
            task.cancel()  # the process "dies" with its batch still running at the provider
            await asyncio.gather(task, return_exceptions=True)

        asyncio.run(crash_after_first_submission())
        engine.stop()
        before = health(base_url)
        assert before["batch_requests"] >= 1 and not runner.accepted

        restarted = engine_for(base_url, tmp_path)  # a new engine: only the job store and cache remember
        try:
            summary, _ = run(restarted, 6, job_id="job-1")
        finally:
            restarted.stop()
        after = health(base_url)
    assert summary.accepted == 6
    assert after["resubmitted"] == 0  # no request was sent twice
    # every generate request the provider ran, those of the batch adopted after the restart included,
    # answered one of the resumed job's calls: the first batch was read, not wasted and resent anew
    assert after["batch_requests_by_stage"]["generate"] == summary.tokens["generator"].calls
    assert summary.batches is not None and summary.batches["generate"].requests >= before["batch_requests"]
    ledger = SqliteBatchLedger(tmp_path)
    recorded = ledger.all_batches("job-1")
    ledger.close()
    assert sum(entry.requests for entry in recorded) == after["batch_requests"]  # every batch run is in the ledger
    assert {entry.status for entry in recorded} == {"completed"}


@pytest.mark.parametrize("finished_before_resume", [False, True], ids=["running", "finished"])
def test_a_batch_submitted_but_never_recorded_is_found_at_the_provider_and_adopted(
    tmp_path: Path, finished_before_resume: bool
) -> None:
    """The crash window between ``batches.create`` and the ledger's write: the batch is listed, not resent.

    ``finished``: the job resumes after the batch has completed at the provider (a slow restart).
    """
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello"}]}

    async def scenario(base_url: str, ledger: SqliteBatchLedger) -> tuple[Any, Any]:
        killed = BatchClient(base_url, "sk-none")  # the process that died right after batches.create
        await killed.submit([{"custom_id": "call-1", "body": body}], {"job": "job-7", "stage": "generate"})
        await killed.submit([{"custom_id": "other", "body": body}], {"job": "job-8", "stage": "generate"})
        await killed.close()
        if finished_before_resume:
            await asyncio.sleep(1.0)  # the fake answers a batch in 0.3 s
        options = BatchOptions(window_s=0.1, poll_s=0.05)
        resumed = BatchDispatcher(BatchClient(base_url, "sk-none"), "job-7", options, ledger)
        try:
            await resumed.resume()
            answer = await resumed.call("generate", "call-1", body)
            return answer, resumed.stats()
        finally:
            await resumed.close()

    with fake_llm_server(0.01, batch_latency_s=0.3) as base_url:
        ledger = SqliteBatchLedger(tmp_path)
        try:
            answer, stats = asyncio.run(scenario(base_url, ledger))
            recorded = ledger.all_batches("job-7")
        finally:
            ledger.close()
        served = health(base_url)
    assert answer is not None and answer["choices"][0]["message"]["content"]
    assert served["batches"] == 2 and served["resubmitted"] == 0  # the call waited for the batch found
    assert stats["generate"].requests == stats["generate"].answered == 1
    assert [(entry.stage, entry.requests, entry.status) for entry in recorded] == [("generate", 1, "completed")]


def test_a_batch_past_its_deadline_is_cancelled_and_its_calls_made_live(tmp_path: Path) -> None:
    with fake_llm_server(0.01, batch_latency_s=0.2, batch_stall=1) as base_url:
        engine = engine_for(base_url, tmp_path, batch_deadline_s=1.0)
        try:
            summary, _ = run(engine, 4)
        finally:
            engine.stop()
        served = health(base_url)
    assert summary.accepted == 4 and served["cancelled"] == 1
    assert summary.batches is not None and sum(stats.live_fallbacks for stats in summary.batches.values()) >= 1


def test_generate_batch_sigkilled_then_continued_with_job_reads_its_batches(tmp_path: Path) -> None:
    with fake_llm_server(0.01, batch_latency_s=3.0) as base_url:
        env = {
            "DIALOGFORGE_LLM_BASE_URL": base_url,
            "DIALOGFORGE_DATA_DIR": str(tmp_path / "data"),
            "DIALOGFORGE_BATCH_WINDOW_S": "0.2",
            "DIALOGFORGE_BATCH_POLL_S": "0.05",
            "DIALOGFORGE_GENERATOR_MODEL": "gpt-4o-mini",
        }
        out = tmp_path / "batch.jsonl"
        args = ["generate", "-s", "empathetic-cs", "-n", "3", "--batch", "-f", "openai", "-o", str(out)]
        stderr = tmp_path / "first.err"
        with stderr.open("w") as sink:
            first = subprocess.Popen(cli_command(*args), env={**os.environ, **env}, stderr=sink, text=True)
        try:
            deadline = time.monotonic() + 240
            while not health(base_url)["batches"] and time.monotonic() < deadline and first.poll() is None:
                time.sleep(0.05)
        finally:
            first.kill()  # SIGKILL with the first batch still running at the provider
            first.wait(30)
        lines = stderr.read_text().splitlines()
        assert "batch mode" in lines[0] and "concurrency 3" in lines[0], lines
        job_id = re.search(r"job ([0-9a-f]+): if it stops", stderr.read_text()).group(1)  # type: ignore[union-attr]
        submitted = health(base_url)["batch_requests"]
        assert submitted >= 1

        done = dialogforge("generate", "--job", job_id, "-f", "openai", "-o", str(out), env=env)
        assert done.returncode == 0, done.stderr
        served = health(base_url)
        assert served["resubmitted"] == 0  # the adopted batch was read, not sent again
        assert "batch generate: " in done.stdout and "answered" in done.stdout
        assert len([json.loads(line) for line in out.read_text().splitlines()]) == 3
        embedded = dialogforge(
            "generate", "-s", "empathetic-cs", "--batch", env={**env, "DIALOGFORGE_LLM_BASE_URL": ""}
        )
        assert embedded.returncode == 2 and embedded.stderr.startswith("error: --batch needs a hosted endpoint")
