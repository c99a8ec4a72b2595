"""Pipeline overhead: accepted samples/s against the ideal, with an LLM that always takes 1 s.

A fake OpenAI-compatible server (benchmarks/fake_openai_server.py) runs in a subprocess on
loopback and answers every call after a fixed latency, like a hosted model. The ideal rate is
``concurrency / (LLM calls per accepted sample x latency)``: what the job would reach if nothing
but the LLM took time. The ratio measured / ideal shows what the pipeline itself costs (embedding,
Chroma, LangGraph, HTTP client). Two rates are printed: the whole job (start-up and tail included)
and the steady state (the middle half of the accepted samples). ``--embedder hashed`` swaps e5
for a near-free hashed-bigram embedder, to show the cost of everything but the embedding model;
``--embedder remote`` embeds through the fake server's ``/v1/embeddings`` (the same hashed vectors
after ``--embedding-latency`` s a call), the set-up of a user with a hosted LLM and hosted
embeddings (``DIALOGFORGE_EMBEDDER=openai:<model>``). ``--profile`` adds a cProfile of the main thread.
``--tail lognormal`` makes the fake's latency heavy-tailed (median ``--latency``, p99 6x the median);
the ideal then uses the mean latency. With e5, the e5-bound ideal is printed too: the texts/s the
bare model reaches here (measured after the job on texts of the job) divided by the texts embedded
per accepted sample.

Run: ``python -m benchmarks.pipeline_overhead --concurrency 32 --n 320 --latency 1.0``.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import math
import os
import pstats
import random
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from agents.embedding_cache import CachingEmbedder
from agents.embeddings import Embedder
from agents.styles import StylePack, resolve_style
from benchmarks.fake_openai_server import TAIL_SIGMA
from benchmarks.hashed_embedder import HashedBigramEmbedder
from benchmarks.loopback import fake_llm_server
from graph.progress import JobEvent, JobSummary
from graph.runner import JobRunner
from service.engine import Engine
from service.settings import Settings


@dataclass
class AcceptClock:
    """Record when each accepted sample finished, to measure the steady-state rate."""

    times: list[float] = field(default_factory=list)

    async def __call__(self, event: JobEvent) -> None:
        """Note the time of every accepted sample."""
        if event.kind == "sample" and event.sample is not None and event.sample.status == "accepted":
            self.times.append(time.perf_counter())

    def steady_rate(self) -> float:
        """Accepted samples per second between the first and the third quarter of the job."""
        low, high = len(self.times) // 4, (3 * len(self.times)) // 4
        if high - low < 2:
            return 0.0
        return (high - low) / (self.times[high] - self.times[low])


async def run_job(engine: Engine, pack: StylePack, n: int, concurrency: int, clock: AcceptClock) -> JobSummary:
    """Run one job on the engine and return its summary."""
    deps = engine.loop_deps(pack, "bench")
    return await JobRunner(deps, n, concurrency=concurrency, on_event=clock).run()


def bench_pack(style: str, embedder: str) -> StylePack:
    """The style pack; with hashed vectors, bounds that mean something for them.

    The exemplar check still runs (a low bound every fake reply passes), so its embedding work
    and round trip are measured too.
    """
    pack = resolve_style(style)
    if embedder == "e5":
        return pack
    return pack.model_copy(update={"min_exemplar_similarity": 0.1, "near_duplicate_similarity": 0.97})


def print_embedding_share(embedder: Embedder, elapsed: float) -> None:
    """Print how busy the embedding model was: the resource the loop shares between all samples."""
    if not isinstance(embedder, CachingEmbedder):
        return
    print(
        f"embedding: {embedder.misses} texts embedded in {embedder.batches} batches, "
        f"{embedder.hits} cache hits; model busy {embedder.busy_s:.1f} s of {elapsed:.1f} s wall "
        f"({100 * embedder.busy_s / elapsed:.0f}%), "
        f"{embedder.misses / max(embedder.busy_s, 1e-9):.0f} texts/s while busy"
    )


def print_lockstep_penalty(concurrency: int, rounds: int = 2000) -> None:
    """Print how much slower lockstep batches of ``concurrency`` calls would be under the same tail.

    A tool that sends a batch and waits for all of it waits for the slowest call of each batch;
    per-sample scheduling starts the next call as soon as one ends. Simulated with the fake's own
    distribution (same sigma), so it is a model of lockstep, not a measurement of a peer.
    """
    rng = random.Random(17)
    draws = [[math.exp(TAIL_SIGMA * rng.gauss(0.0, 1.0)) for _ in range(concurrency)] for _ in range(rounds)]
    mean_call = sum(sum(batch) for batch in draws) / (rounds * concurrency)
    mean_slowest = sum(max(batch) for batch in draws) / rounds
    print(
        f"lockstep batches of {concurrency} under this tail would wait {mean_slowest / mean_call:.2f}x the mean call "
        f"per round: at most {mean_call / mean_slowest:.2f} of the ideal (simulated, same distribution)"
    )


def print_e5_bound(embedder: CachingEmbedder, accepted: int, measured: float, steady: float) -> None:
    """Print the e5-bound ideal: the bare model's texts/s here over the texts embedded per accepted sample."""
    texts = [f"e5 speed probe {i}: 今天加班到很晚，心情有点低落，想找人聊聊 {i * 7919}" for i in range(200)]
    started = time.perf_counter()
    embedder.inner.embed(texts)
    rate = len(texts) / (time.perf_counter() - started)
    per_accepted = (embedder.misses - embedder.disk_hits) / max(accepted, 1)
    bound = rate / per_accepted
    print(
        f"e5-bound ideal: {rate:.0f} texts/s (bare model, now) / {per_accepted:.2f} texts per accepted = "
        f"{bound:.2f} accepted/s; whole job {measured / bound:.3f} of it, steady state {steady / bound:.3f}"
    )


def main() -> None:
    """Measure and print the ratio to the ideal, and where the rest of the time goes."""
    parser = argparse.ArgumentParser(description="pipeline overhead against a fixed-latency fake LLM")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--n", type=int, default=320)
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--style", default="gentle")
    parser.add_argument(
        "--embedder", choices=["e5", "hashed", "remote"], default="e5", help="hashed: near-free, not semantic"
    )
    parser.add_argument("--embedding-latency", type=float, default=0.1, help="seconds per remote embeddings call")
    parser.add_argument("--profile", action="store_true", help="print the top functions by own time")
    parser.add_argument("--tail", choices=["fixed", "lognormal"], default="fixed", help="LLM latency distribution")
    args = parser.parse_args()

    clock = AcceptClock()
    with fake_llm_server(args.latency, args.embedding_latency, tail=args.tail) as base_url:
        settings = Settings(
            llm_base_url=base_url,
            data_dir=Path(tempfile.mkdtemp(prefix="df-bench-")),
            llm_max_concurrency=args.concurrency,
            llm_max_retries=0,
            embedder="openai:fake" if args.embedder == "remote" else "e5",
        )
        engine = Engine.start(settings, embedder=HashedBigramEmbedder() if args.embedder == "hashed" else None)
        engine.embedder.embed(["warm up"])
        pack = bench_pack(args.style, args.embedder)
        profiler = cProfile.Profile() if args.profile else None
        try:
            if profiler:
                profiler.enable()
            started = time.perf_counter()
            summary = asyncio.run(run_job(engine, pack, args.n, args.concurrency, clock))
            elapsed = time.perf_counter() - started
            if profiler:
                profiler.disable()
        finally:
            engine.stop()

    calls_per_accepted = summary.llm_calls / max(summary.accepted, 1)
    mean_latency = args.latency * (math.exp(TAIL_SIGMA**2 / 2) if args.tail == "lognormal" else 1.0)
    ideal = args.concurrency / (calls_per_accepted * mean_latency)
    measured, steady = summary.accepted / elapsed, clock.steady_rate()
    remote = f" ({args.embedding_latency:.2f} s a call)" if args.embedder == "remote" else ""
    print(
        f"style {args.style}, n {args.n}, concurrency {args.concurrency}, LLM latency {args.latency:.2f} s "
        f"({args.tail}, mean {mean_latency:.2f} s), embedder {args.embedder}{remote}; load {os.getloadavg()[0]:.2f}"
    )
    print(f"accepted {summary.accepted}, rejected {summary.rejected} {summary.rejected_by_reason}")
    print(f"LLM calls per accepted sample: {calls_per_accepted:.2f}")
    print(f"ideal:        {ideal:.2f} accepted/s  (= concurrency / (calls per accepted x latency))")
    print(f"whole job:    {measured:.2f} accepted/s  (wall {elapsed:.1f} s)  ratio {measured / ideal:.3f}")
    print(f"steady state: {steady:.2f} accepted/s  (middle half of the job)    ratio {steady / ideal:.3f}")
    print_embedding_share(engine.embedder, elapsed)
    if args.tail == "lognormal":
        print_lockstep_penalty(args.concurrency)
    if args.embedder == "e5":
        print_e5_bound(engine.embedder, summary.accepted, measured, steady)
    if profiler:
        stream = io.StringIO()
        pstats.Stats(profiler, stream=stream).sort_stats("tottime").print_stats(15)
        print(stream.getvalue())


if __name__ == "__main__":
    main()
