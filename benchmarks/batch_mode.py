"""Batch mode: the same job live and through the fake OpenAI Batch API, side by side in one run.

A fake OpenAI-compatible provider with the Files and Batches endpoints runs in a subprocess
(``--latency`` s a live call, ``--batch-latency`` s a batch). The job (``--n`` samples, ``gpt-4o-mini``
prices, call cache off) runs once live and once with ``batch=True``, every sample in flight at once
in batch mode. Printed for each: accepted (exactly n?), lineage complete, LLM calls per role, live
calls at the provider, calls per stage sent in batches and the number of batches, wall time, cost
(the Batch API's 50 % applies to every role but the live topic brainstorms).

Run: ``python -m benchmarks.batch_mode --n 200`` (about a minute with the default latencies).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

from agents.styles import resolve_style
from benchmarks.hashed_embedder import HashedBigramEmbedder
from benchmarks.loopback import fake_llm_server, provider_health
from graph.progress import JobSummary
from graph.runner import JobRunner
from service.engine import Engine
from service.settings import Settings

MODEL = "gpt-4o-mini"


def run_job(engine: Engine, args: argparse.Namespace, *, batch: bool) -> tuple[JobSummary, bool, float]:
    """Run one job; return its summary, whether every accepted sample's lineage is complete, and its wall time."""
    pack = resolve_style(args.style)
    pack = pack.model_copy(update={"min_exemplar_similarity": 0.1, "near_duplicate_similarity": 0.97})
    deps = engine.loop_deps(pack, "batch" if batch else "live", seed=args.seed, batch=batch)
    runner = JobRunner(deps, args.n, concurrency=args.n if batch else args.concurrency)
    started = time.perf_counter()
    summary = asyncio.run(runner.run())
    wall = time.perf_counter() - started
    lineage = all(
        s.lineage.job_id == summary.job_id and s.lineage.style == pack.name and s.lineage.models and s.lineage.tokens
        for s in runner.accepted
    )
    return summary, lineage, wall


def describe(name: str, summary: JobSummary, lineage: bool, wall: float, live_calls: int) -> None:
    calls = ", ".join(f"{role} {usage.calls}" for role, usage in sorted(summary.tokens.items()))
    cost = summary.cost.total_usd if summary.cost else float("nan")
    print(
        f"{name}: {summary.accepted} accepted ({summary.stop_reason}), lineage complete {lineage}; "
        f"LLM calls {summary.llm_calls} ({calls}); live at the provider {live_calls}; "
        f"wall {wall:.1f} s; cost ${cost:.4f}"
    )
    for stage, stats in (summary.batches or {}).items():
        print(
            f"  batch {stage}: {stats.requests} calls in {stats.batches} batches, {stats.answered} answered, "
            f"{stats.live_fallbacks} made live"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description="the same job live and through the Batch API")
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=32, help="samples in flight in the live job")
    parser.add_argument("--latency", type=float, default=1.0, help="seconds a live call")
    parser.add_argument("--batch-latency", type=float, default=5.0, help="seconds a batch")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--style", default="empathetic-cs")
    args = parser.parse_args()
    print(f"load {os.getloadavg()[0]:.2f}; n {args.n}, live concurrency {args.concurrency}, latency {args.latency} s")
    with fake_llm_server(args.latency, batch_latency_s=args.batch_latency) as base_url:
        settings = Settings(
            llm_base_url=base_url,
            data_dir=Path(tempfile.mkdtemp(prefix="df-batch-")),
            generator_model=MODEL,
            cache=False,
            batch_window_s=2.0,
            batch_poll_s=1.0,
        )
        engine = Engine.start(settings, embedder=HashedBigramEmbedder())
        try:
            live, live_lineage, live_wall = run_job(engine, args, batch=False)
            live_calls = provider_health(base_url)["calls"]
            batch, batch_lineage, batch_wall = run_job(engine, args, batch=True)
            served = provider_health(base_url)
        finally:
            engine.stop()
    describe("live ", live, live_lineage, live_wall, live_calls)
    describe("batch", batch, batch_lineage, batch_wall, served["calls"] - live_calls)
    print(f"  provider: {served['batches']} batches, {served['batch_requests_by_stage']} requests per stage")
    if live.cost and batch.cost and live.cost.total_usd:
        print(f"batch cost / live cost {batch.cost.total_usd / live.cost.total_usd:.3f}")


if __name__ == "__main__":
    main()
