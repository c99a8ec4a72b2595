"""Adaptive admission against a provider that enforces an RPM limit (429 + Retry-After above it).

The fake provider (benchmarks/fake_openai_server.py ``--rpm``) answers every call after
``--latency`` s, refuses calls above its requests-per-minute bucket with 429 and ``Retry-After``,
and sends OpenAI's ``x-ratelimit-*`` headers. A dialogforge job asks for far more than the limit
(``--concurrency`` samples in flight). Three ways, one after the other in one run:

- ``rpm``: the user gives the provider's limit (``--rpm``): token-bucket pacing;
- ``headers``: no limit given: the limit is learnt from ``x-ratelimit-*`` headers, AIMD on 429s;
- ``aimd``: headers ignored (a provider that sends none): AIMD and ``Retry-After`` alone.

Printed per way, over the time after the first minute: calls served per minute against the limit
(target: within 10 %), the share of calls refused with 429 (target: below 5 %), accepted samples
per minute against ``limit / calls per accepted sample``, and the final AIMD limit. The embedder is
the near-free hashed one, so only admission is measured.

Run: ``python -m benchmarks.adaptive_admission --rpm 600 --minutes 3`` (about 10 minutes).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import threading
import time
from pathlib import Path

import httpx

from agents.admission import Admission
from agents.styles import resolve_style
from benchmarks.hashed_embedder import HashedBigramEmbedder
from benchmarks.loopback import fake_llm_server
from graph.progress import Budget
from graph.runner import JobRunner
from service.engine import Engine
from service.settings import Settings

WAYS = ("rpm", "headers", "aimd")


class Sampler:
    """Read the provider's counters once a second in a thread."""

    def __init__(self, base_url: str) -> None:
        self.url = base_url.removesuffix("/v1") + "/health"
        self.points: list[tuple[float, int, int]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(timeout=5, trust_env=False) as client:
            while not self._stop.is_set():
                health = client.get(self.url).json()
                self.points.append((time.monotonic(), int(health["calls"]), int(health["throttled"])))
                self._stop.wait(1.0)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def after(self, skip_s: float) -> tuple[float, int, int]:
        """Seconds, calls served and calls refused from ``skip_s`` after the start to the end."""
        start = self.points[0][0] + skip_s
        later = [point for point in self.points if point[0] >= start]
        if len(later) < 2:
            return 0.0, 0, 0
        (t0, c0, r0), (t1, c1, r1) = later[0], later[-1]
        return t1 - t0, c1 - c0, r1 - r0


def run_way(way: str, args: argparse.Namespace) -> None:
    """Run one job against a fresh provider and print its figures."""
    n = int(args.rpm * args.minutes / 2.1)  # about args.minutes of calls at the limit
    with fake_llm_server(args.latency, rpm=args.rpm) as base_url:
        settings = Settings(
            llm_base_url=base_url,
            data_dir=Path(tempfile.mkdtemp(prefix="df-admission-")),
            llm_max_retries=8,
            llm_rpm=args.rpm if way == "rpm" else None,
            cache=False,
        )
        engine = Engine.start(settings, embedder=HashedBigramEmbedder())
        admission = engine.models.admission
        assert admission is not None
        if way == "aimd":
            admission.learn_limits = False
            admission._follow_headers = lambda headers, now: None  # type: ignore[method-assign]
        pack = resolve_style(args.style).model_copy(
            update={"min_exemplar_similarity": 0.1, "near_duplicate_similarity": 0.97}
        )
        deps = engine.loop_deps(pack, "bench")
        runner = JobRunner(deps, n, concurrency=args.concurrency, budget=Budget(max_attempts=4 * n))
        with Sampler(base_url) as sampler:
            started = time.monotonic()
            summary = asyncio.run(runner.run())
            wall = time.monotonic() - started
        engine.stop()
    report(way, args, summary.accepted, summary.llm_calls, wall, sampler, admission)


def report(
    way: str, args: argparse.Namespace, accepted: int, calls: int, wall: float, sampler: Sampler, admission: Admission
) -> None:
    seconds, served, refused = sampler.after(60.0)
    per_min = 60.0 * served / seconds if seconds else 0.0
    refused_share = refused / (served + refused) if served + refused else 0.0
    calls_per_accepted = calls / max(accepted, 1)
    ideal_accepted = args.rpm / calls_per_accepted
    accepted_per_min = 60.0 * accepted / wall
    stats = admission.stats()
    print(
        f"{way:8s} calls/min after the first minute {per_min:7.1f} "
        f"(limit {args.rpm:.0f}, ratio {per_min / args.rpm:.3f})"
        f"  429 share {100 * refused_share:4.1f}%  accepted/min {accepted_per_min:6.1f} of {ideal_accepted:6.1f} "
        f"(ratio {accepted_per_min / ideal_accepted:.3f}, whole job incl. start)  final limit {stats.limit}, "
        f"429s seen {stats.throttled}, wall {wall:.0f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="adaptive admission against an RPM-enforcing fake provider")
    parser.add_argument("--rpm", type=float, default=600.0)
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--style", default="empathetic-cs")
    parser.add_argument("--ways", default=",".join(WAYS), help="comma-separated: rpm, headers, aimd")
    args = parser.parse_args()
    print(
        f"load {os.getloadavg()[0]:.2f}; provider limit {args.rpm:.0f} RPM, latency {args.latency} s, "
        f"concurrency {args.concurrency}"
    )
    for way in args.ways.split(","):
        run_way(way.strip(), args)


if __name__ == "__main__":
    main()
