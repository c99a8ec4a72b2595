"""Generation on Ray: the coordinator's ceiling, a worker's throughput, the projection, and Ray's overhead here.

(a) **Coordinator ceiling**: accepted samples/s the driver admits when workers answer at once
    (an instant worker returns a distinct candidate and its vector): topic planning, the
    near-duplicate check against the memory (Chroma), the memory write and the job store write
    per sample, through the real runner. Measured twice: the unit handed over in-process (the
    coordinator alone) and through real Ray actors (plus Ray's round trip).
(b) **Per-worker throughput**: one real worker actor (its own LLM clients and embedder) against
    the fake LLM at ``--latency`` s a call, ``--per-worker`` samples in flight, fed planned samples
    directly (no coordinator): candidates/s.
    A third run keeps the coordinator's topic memory in RAM (Chroma's ephemeral client): how much
    of the ceiling is the memory's disk writes.
(c) **Projection** to 10 and 100 nodes from (a) and (b), as a table with its assumptions.
(d) **Local vs Ray** on this machine at the same total concurrency: the same job with the local
    executor and with the Ray executor (one worker per CPU).

The embedder is the fake server's (``openai:fake``: hashed vectors over HTTP), on the driver and
on the workers, so e5 does not compete for this machine's two cores; the instant worker uses the
same hashed vectors. Ray: a new single-machine instance (``--ray-address`` for a cluster).

Run: ``python -m benchmarks.ray_generation`` (5 minutes at load 14 on this 2-core machine).
"""

from __future__ import annotations

import os

os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # a private single-machine instance: no token file
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")

import argparse
import asyncio
import random
import string
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import chromadb

from agents.schemas import Turn
from agents.styles import StylePack, resolve_style
from benchmarks.hashed_embedder import HashedBigramEmbedder
from benchmarks.loopback import fake_llm_server
from benchmarks.pipeline_overhead import AcceptClock
from graph.executors.ray_samples import Candidate, RaySamples, UnitRunner, WorkerPool
from graph.executors.ray_session import ray_session
from graph.progress import JobEvent, JobSummary
from graph.runner import JobRunner
from graph.state import SampleState
from service.engine import Engine
from service.jobs.kinds.generate import GenerateJobRequest
from service.jobs.ray_generation import WorkerSetup
from service.jobs.store import JobStore
from service.settings import Settings

_rng = random.Random(15)
VOCABULARY = ["".join(_rng.choices(string.ascii_lowercase, k=7)) for _ in range(5000)]


def instant_candidate(state: SampleState, embedder: HashedBigramEmbedder) -> tuple[dict[str, Any], Any]:
    """A candidate made at once: random distinct words (never a near-duplicate) and their vector."""
    rng = random.Random(state["sample_id"])
    text = " ".join(rng.choices(VOCABULARY, k=30))
    turns = [Turn(role="user", content=text), Turn(role="assistant", content="嗯嗯，我在听，慢慢说。")]
    final = {**state, "turns": turns, "status": "pending", "reject_reason": None}
    return final, embedder.embed([text])[0]


class InstantWorker:
    """A Ray actor with :class:`~graph.executors.ray_samples.SampleWorker`'s methods that answers at once."""

    def __init__(self, setup: object) -> None:
        """Keep a hashed embedder (``setup`` is unused)."""
        import ray

        self.embedder = HashedBigramEmbedder()
        self.node = str(ray.get_runtime_context().get_node_id())

    def where(self) -> tuple[str, int]:
        """Return the node id and process id."""
        return self.node, os.getpid()

    async def run(self, state: SampleState, scope_seed: int) -> Candidate:
        """Return a candidate at once."""
        final, vector = instant_candidate(state, self.embedder)
        return final, vector, self.node


class InProcessInstant:
    """The instant worker without Ray: what the coordinator alone can admit."""

    def __init__(self) -> None:
        """Keep a hashed embedder."""
        self.embedder = HashedBigramEmbedder()

    async def run(self, state: SampleState, scope_seed: int) -> Candidate:
        """Return a candidate at once."""
        final, vector = instant_candidate(state, self.embedder)
        return final, vector, "driver"


@dataclass
class Measured:
    """One job's figures."""

    label: str
    summary: JobSummary
    wall_s: float
    steady: float

    @property
    def rate(self) -> float:
        """Accepted samples per second over the whole job."""
        return self.summary.accepted / self.wall_s

    def line(self) -> str:
        """The figures as one line."""
        calls = self.summary.llm_calls / max(self.summary.accepted, 1)
        return (
            f"{self.label:<34} accepted {self.summary.accepted:>5}  rejected {self.summary.rejected:>3}  "
            f"{self.rate:8.2f}/s whole job  {self.steady:8.2f}/s steady  ({calls:.2f} LLM calls per accepted)"
        )


class StoredClock(AcceptClock):
    """Write every finished sample to the job store (as a job does), and time the accepted ones."""

    def __init__(self, store: JobStore, job_id: str) -> None:
        """Write into ``store`` under ``job_id``."""
        super().__init__()
        self.store, self.job_id = store, job_id

    async def __call__(self, event: JobEvent) -> None:
        """Store the sample, then time it."""
        if event.kind == "sample" and event.sample is not None:
            await self.store.run(self.store.add_sample, self.job_id, event.sample, event.progress, None)
        await super().__call__(event)


async def run_job(
    engine: Engine,
    store: JobStore,
    pack: StylePack,
    label: str,
    n: int,
    concurrency: int,
    units: Callable[[], UnitRunner] | None,
) -> Measured:
    """Run one stored job (``units`` None: the local executor) in a fresh workspace; return its figures."""
    job_id = uuid.uuid4().hex[:12]
    store.create_job(job_id, GenerateJobRequest(style=pack.name, n=n, concurrency=min(concurrency, 64)), pack)
    deps = engine.loop_deps(pack, f"bench-{job_id}", job_id=job_id)
    runner_units = units() if units is not None else None
    executor = (lambda job_deps: RaySamples(job_deps, runner_units)) if runner_units is not None else None
    clock = StoredClock(store, job_id)
    runner = JobRunner(deps, n, concurrency=concurrency, on_event=clock, executor=executor)
    started = time.perf_counter()
    summary = await runner.run()
    return Measured(label, summary, time.perf_counter() - started, clock.steady_rate())


def bench_pack() -> StylePack:
    """Gentle, with bounds that mean something for hashed vectors."""
    return resolve_style("gentle").model_copy(
        update={"min_exemplar_similarity": 0.1, "near_duplicate_similarity": 0.97}
    )


def engine_for(base_url: str, data_dir: Path) -> Engine:
    """An engine on the fake server with its hashed embeddings endpoint."""
    settings = Settings(
        llm_base_url=base_url, data_dir=data_dir, llm_max_retries=0, embedder="openai:fake", cache=False
    )
    return Engine.start(settings)


async def started_pool(ray: Any, setup: Any, concurrency: int, workers: int | None, worker: type) -> WorkerPool:
    """A worker pool whose actors are up (their start-up is not timed)."""
    pool = WorkerPool(setup, concurrency, workers=workers, worker=worker)
    await pool.start(ray)
    return pool


def setup_of(engine: Engine, pack: StylePack) -> WorkerSetup:
    """What a real worker builds on its node for this engine's endpoint."""
    deps = engine.loop_deps(pack, "bench-setup")
    settings = engine.settings
    return WorkerSetup(
        llm=settings.llm_config(),
        embedder=settings.embedder,
        embedding_endpoint=settings.embedding_endpoint(),
        pack=pack,
        judge_plan=deps.judge_plan,
        config=deps.config,
        workspace="bench",
    )


def projection(ceiling: float, per_worker: float, per_worker_concurrency: int) -> list[str]:
    """The projected cluster rate for 1-100 nodes (one worker per node at the measured rate)."""
    rows = ["nodes | workers | samples in flight | worker-bound /s | coordinator ceiling /s | projected /s | bound by"]
    rows.append("---|---|---|---|---|---|---")
    for nodes in (1, 2, 10, 100):
        workers_rate = nodes * per_worker
        projected = min(workers_rate, ceiling)
        bound = "workers" if workers_rate <= ceiling else "coordinator"
        rows.append(
            f"{nodes} | {nodes} | {nodes * per_worker_concurrency} | {workers_rate:.1f} | {ceiling:.1f} | "
            f"{projected:.1f} | {bound}"
        )
    return rows


async def main_async(args: argparse.Namespace) -> None:
    """Run (a), (b), (d) and print (c)."""
    pack = bench_pack()
    data_dir = Path(tempfile.mkdtemp(prefix="df-raybench-"))
    store = JobStore(data_dir)
    print(f"load before: {os.getloadavg()[0]:.2f} (1 min), cpus {os.cpu_count()}")
    with ray_session(args.ray_address) as ray:
        print(f"ray {ray.__version__}: {len(ray.nodes())} node(s), {ray.cluster_resources().get('CPU', 0):.0f} CPUs")
        with fake_llm_server(0.0, embedding_latency_s=0.0) as instant_url:
            engine = engine_for(instant_url, data_dir)
            try:
                print(f"\n(a) coordinator ceiling: n {args.ceiling_n}, {args.ceiling_concurrency} in flight, instant")
                alone = await run_job(
                    engine,
                    store,
                    pack,
                    "in-process instant units",
                    args.ceiling_n,
                    args.ceiling_concurrency,
                    InProcessInstant,
                )
                print(alone.line())
                pool = await started_pool(ray, None, args.ceiling_concurrency, 2, InstantWorker)
                on_ray = await run_job(
                    engine,
                    store,
                    pack,
                    "Ray actors, instant (2 workers)",
                    args.ceiling_n,
                    args.ceiling_concurrency,
                    lambda: pool,
                )
                await pool.close()
                print(on_ray.line())
                engine.chroma = chromadb.EphemeralClient()  # the same coordinator with its memory in RAM
                in_ram = await run_job(
                    engine,
                    store,
                    pack,
                    "in-process, memory in RAM",
                    args.ceiling_n,
                    args.ceiling_concurrency,
                    InProcessInstant,
                )
                print(in_ram.line())
                print(f"memory in RAM / on disk: {in_ram.steady / alone.steady:.1f}x (steady)")
            finally:
                engine.stop()
        if args.only_ceiling:
            store.close()
            return
        with fake_llm_server(args.latency, embedding_latency_s=args.embedding_latency) as url:
            engine = engine_for(url, data_dir)
            setup = setup_of(engine, pack)
            try:
                print(f"\n(b) one worker actor: fake LLM {args.latency:.1f} s a call, {args.per_worker} in flight")
                pool = await started_pool(ray, setup, args.per_worker, 1, _sample_worker())
                per_worker, calls = await worker_rate(pool, args.n, args.per_worker)
                await pool.close()
                ideal = args.per_worker / (calls * args.latency)
                print(
                    f"1 Ray worker: {per_worker:.2f} candidates/s ({calls:.2f} LLM calls each; ideal {ideal:.2f}/s "
                    f"= in flight / (calls x latency))"
                )
                total = args.total_concurrency
                print(f"\n(d) local vs Ray on this machine: {total} in flight in all, n {args.n}")
                local = await run_job(engine, store, pack, "local executor", args.n, total, None)
                print(local.line())
                pool = await started_pool(ray, setup, total, None, _sample_worker())
                label = f"ray executor ({len(pool.actors)} workers)"
                remote = await run_job(engine, store, pack, label, args.n, total, lambda: pool)
                await pool.close()
                print(remote.line())
                print(
                    f"ray / local: {remote.rate / local.rate:.3f} whole job, {remote.steady / local.steady:.3f} steady"
                )
            finally:
                engine.stop()
    print(f"\n(c) projection: a worker {per_worker:.2f}/s ({args.per_worker} in flight), ceiling {on_ray.steady:.1f}/s")
    for row in projection(on_ray.steady, per_worker, args.per_worker):
        print(row)
    print(f"\nload after: {os.getloadavg()[0]:.2f} (1 min)")
    store.close()


async def worker_rate(pool: WorkerPool, count: int, concurrency: int) -> tuple[float, float]:
    """Send ``count`` planned samples straight to the pool, ``concurrency`` at once; return candidates/s, calls each.

    No coordinator: the worker's own rate (the loop, its LLM calls and its embeddings).
    """
    slots = asyncio.Semaphore(concurrency)

    async def one(index: int) -> int:
        state: SampleState = {
            "sample_id": uuid.uuid4().hex,
            "ordinal": index,
            "topic": f"a worry about day {index} at work",
            "avoid": [],
            "rewrites": 0,
            "attempts": [],
            "usage": {},
        }
        async with slots:
            final, _, _ = await pool.run(state, index)
        return sum(usage.calls for usage in final.get("usage", {}).values())

    started = time.perf_counter()
    calls = await asyncio.gather(*(one(index) for index in range(count)))
    return count / (time.perf_counter() - started), sum(calls) / count


def _sample_worker() -> type:
    from graph.executors.ray_samples import SampleWorker

    return SampleWorker


def main() -> None:
    """Parse the options and run the benchmark."""
    parser = argparse.ArgumentParser(description="generation on Ray: ceiling, per worker, projection, overhead")
    parser.add_argument("--ray-address", default="local", help="local: a new single-machine instance")
    parser.add_argument("--ceiling-n", type=int, default=300)
    parser.add_argument("--ceiling-concurrency", type=int, default=64)
    parser.add_argument("--n", type=int, default=48, help="samples of the (b) and (d) jobs")
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--embedding-latency", type=float, default=0.01)
    parser.add_argument("--per-worker", type=int, default=16, help="samples in flight on the one worker of (b)")
    parser.add_argument("--only-ceiling", action="store_true", help="run (a) only")
    parser.add_argument("--total-concurrency", type=int, default=16, help="samples in flight in (d)")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
