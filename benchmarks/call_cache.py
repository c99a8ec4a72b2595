"""Call cache: the same job twice with the same seed in fresh workspaces; the rerun is served from the cache.

A fake OpenAI-compatible provider (``--latency`` s a call) runs in a subprocess; two jobs with the
same ``--seed`` and style run one after the other in two fresh workspaces of one data directory.
Printed: calls the provider served for each, the rerun's cache hits, and the rerun's wall time as a
share of the first's (targets: 0 calls, under 5 %), and whether both made the same samples.

Run: ``python -m benchmarks.call_cache --n 200 --concurrency 32`` (about 20 s at 1 s a call).
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


def run_job(engine: Engine, workspace: str, args: argparse.Namespace) -> tuple[JobSummary, list[str], float]:
    pack = resolve_style(args.style)
    if args.embedder == "hashed":
        pack = pack.model_copy(update={"min_exemplar_similarity": 0.1, "near_duplicate_similarity": 0.97})
    deps = engine.loop_deps(pack, workspace, seed=args.seed)
    runner = JobRunner(deps, args.n, concurrency=args.concurrency)

    async def run() -> JobSummary:
        return await runner.run()

    started = time.perf_counter()
    summary = asyncio.run(run())
    return summary, sorted(sample.user_text() for sample in runner.accepted), time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description="a rerun served from the call cache")
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--style", default="empathetic-cs")
    parser.add_argument("--embedder", choices=["e5", "hashed"], default="hashed")
    args = parser.parse_args()
    print(f"load {os.getloadavg()[0]:.2f}; n {args.n}, concurrency {args.concurrency}, latency {args.latency} s")
    with fake_llm_server(args.latency) as base_url:
        settings = Settings(
            llm_base_url=base_url, data_dir=Path(tempfile.mkdtemp(prefix="df-cache-")), llm_max_retries=0
        )
        embedder = HashedBigramEmbedder() if args.embedder == "hashed" else None
        engine = Engine.start(settings, embedder=embedder)
        try:
            first, first_texts, first_wall = run_job(engine, "first", args)
            paid = int(provider_health(base_url)["calls"])
            second, second_texts, second_wall = run_job(engine, "second", args)
            rerun_calls = int(provider_health(base_url)["calls"]) - paid
        finally:
            engine.stop()
    hits = second.cache_hits
    print(f"first run: {first.accepted} accepted, {paid} calls served, wall {first_wall:.1f} s")
    print(
        f"rerun:     {second.accepted} accepted, {rerun_calls} calls served, {hits} cache hits "
        f"(hit rate {hits / max(hits + rerun_calls, 1):.3f}), wall {second_wall:.2f} s "
        f"= {100 * second_wall / first_wall:.1f}% of the first"
    )
    print(f"same samples: {first_texts == second_texts}")


if __name__ == "__main__":
    main()
