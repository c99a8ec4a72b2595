"""Pipeline overhead: accepted samples/s against the ideal, with an LLM that always takes 1 s.

A fake OpenAI-compatible server (benchmarks/fake_openai_server.py) runs in a subprocess on
loopback and answers every call after a fixed latency, like a hosted model. The ideal rate is
``concurrency / (LLM calls per accepted sample x latency)``: what the job would reach if nothing
but the LLM took time. The ratio measured / ideal shows what the pipeline itself costs (embedding,
Chroma, LangGraph, HTTP client). ``--profile`` adds a pyinstrument-free cProfile of the run.

Run: ``python -m benchmarks.pipeline_overhead --concurrency 32 --n 160 --latency 1.0``.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from agents.styles import resolve_style
from benchmarks.loopback import fake_llm_server
from graph.progress import JobSummary
from graph.runner import JobRunner
from service.engine import Engine
from service.settings import Settings


async def run_job(engine: Engine, style: str, n: int, concurrency: int, workspace: str) -> JobSummary:
    """Run one job on the engine and return its summary."""
    asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(max_workers=2 * concurrency))
    deps = engine.loop_deps(resolve_style(style), workspace)
    return await JobRunner(deps, n, concurrency=concurrency).run()


def main() -> None:
    """Measure and print the ratio to the ideal, and where the rest of the time goes."""
    parser = argparse.ArgumentParser(description="pipeline overhead against a fixed-latency fake LLM")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--n", type=int, default=160)
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--style", default="gentle")
    parser.add_argument("--profile", action="store_true", help="print the top functions by own time")
    args = parser.parse_args()

    with fake_llm_server(args.latency) as base_url:
        settings = Settings(
            llm_base_url=base_url,
            data_dir=Path(tempfile.mkdtemp(prefix="df-bench-")),
            llm_max_concurrency=args.concurrency,
            llm_max_retries=0,
        )
        engine = Engine.start(settings)
        engine.embedder.embed(["warm up"])
        profiler = cProfile.Profile() if args.profile else None
        try:
            if profiler:
                profiler.enable()
            started = time.perf_counter()
            summary = asyncio.run(run_job(engine, args.style, args.n, args.concurrency, "bench"))
            elapsed = time.perf_counter() - started
            if profiler:
                profiler.disable()
        finally:
            engine.stop()

    calls_per_accepted = summary.llm_calls / max(summary.accepted, 1)
    ideal = args.concurrency / (calls_per_accepted * args.latency)
    measured = summary.accepted / elapsed
    print(f"style {args.style}, n {args.n}, concurrency {args.concurrency}, LLM latency {args.latency:.2f} s")
    print(f"accepted {summary.accepted}, rejected {summary.rejected} {summary.rejected_by_reason}")
    print(f"LLM calls per accepted sample: {calls_per_accepted:.2f}")
    print(f"measured: {measured:.2f} accepted/s  (wall {elapsed:.1f} s)")
    print(f"ideal:    {ideal:.2f} accepted/s  (= concurrency / (calls per accepted x latency))")
    print(f"ratio:    {measured / ideal:.3f}")
    cache = engine.embedder
    print(f"embedding cache: {getattr(cache, 'hits', '?')} hits, {getattr(cache, 'misses', '?')} misses")
    if profiler:
        stream = io.StringIO()
        pstats.Stats(profiler, stream=stream).sort_stats("tottime").print_stats(15)
        print(stream.getvalue())


if __name__ == "__main__":
    main()
