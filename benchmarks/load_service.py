"""Load benchmark of the HTTP service: 10 jobs running while 100 clients poll status and stream events.

Everything is real except the LLM: the fake OpenAI server (``benchmarks.fake_openai_server``,
fixed latency) in one process, ``dialogforge serve`` in another (its own SQLite, embedder and
event loop), and the clients here (httpx, one event loop). Two phases on fresh data directories:

1. baseline: the same jobs with no readers (one slow poll a second to see when they end);
2. loaded: the jobs plus ``--clients`` readers: most poll ``GET /v1/jobs/{id}`` (every tenth
   request ``GET /v1/jobs``), the rest follow ``GET /v1/jobs/{id}/events`` and reconnect when a
   stream ends. A poller waits ``--think`` seconds between requests.

Printed: p50/p99 latency of each read endpoint (time to the first event for SSE), request counts
and errors, and the jobs' throughput (accepted samples per second, first POST to last job end)
in both phases. Every phase is bounded by ``--timeout``.

Run: ``python -m benchmarks.load_service --jobs 10 --n 8 --clients 100``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import httpx

from benchmarks.loopback import REPO, fake_llm_server, free_port, wait_until_up


@dataclass
class Stats:
    """Latencies (seconds) per endpoint label, and errors."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def report(self) -> list[str]:
        lines = []
        for label, values in sorted(self.latencies.items()):
            ordered = sorted(values)
            p50 = statistics.median(ordered)
            p99 = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
            lines.append(
                f"  {label:<28} n={len(ordered):>6}  p50={p50 * 1000:7.1f} ms  p99={p99 * 1000:7.1f} ms"
                f"  errors={self.errors.get(label, 0)}"
            )
        return lines


async def start_jobs(client: httpx.AsyncClient, jobs: int, n: int, style: str) -> list[str]:
    ids = []
    for _ in range(jobs):
        answer = await client.post("/v1/jobs", json={"style": style, "n": n, "concurrency": 2})
        answer.raise_for_status()
        ids.append(answer.json()["id"])
    return ids


async def wait_jobs(client: httpx.AsyncClient, ids: list[str], deadline: float) -> list[dict[str, Any]]:
    while time.monotonic() < deadline:
        jobs = [(await client.get(f"/v1/jobs/{job_id}")).json() for job_id in ids]
        if all(job["status"] not in ("queued", "running") for job in jobs):
            return jobs
        await asyncio.sleep(0.5)
    raise RuntimeError("jobs did not end before the timeout")


Reader = tuple[httpx.AsyncClient, list[str], float, asyncio.Event, Stats]


async def poller(reader: Reader, index: int) -> None:
    client, ids, think, stop, stats = reader
    count = 0
    while not stop.is_set():
        count += 1
        job_id = ids[(index + count) % len(ids)]
        path, label = (
            ("/v1/jobs?limit=20", "GET /v1/jobs") if count % 10 == 0 else (f"/v1/jobs/{job_id}", "GET /v1/jobs/{id}")
        )
        t0 = time.perf_counter()
        try:
            answer = await client.get(path)
            answer.raise_for_status()
            stats.latencies[label].append(time.perf_counter() - t0)
        except httpx.HTTPError:
            stats.errors[label] += 1
        await asyncio.sleep(think)


async def streamer(reader: Reader, index: int) -> None:
    client, ids, think, stop, stats = reader
    label = "GET /v1/jobs/{id}/events"
    count = 0
    while not stop.is_set():
        count += 1
        job_id = ids[(index + count) % len(ids)]
        t0 = time.perf_counter()
        first = True
        try:
            async with client.stream("GET", f"/v1/jobs/{job_id}/events") as answer:
                answer.raise_for_status()
                async for line in answer.aiter_lines():
                    if first and line.startswith("data:"):
                        stats.latencies[label + " (1st event)"].append(time.perf_counter() - t0)
                        first = False
                    if line.startswith("event: end") or stop.is_set():
                        break
        except httpx.HTTPError:
            stats.errors[label + " (1st event)"] += 1
        await asyncio.sleep(think)


async def phase(base: str, args: argparse.Namespace, readers: int) -> tuple[float, int, Stats, list[str]]:
    limits = httpx.Limits(max_connections=readers + 20, max_keepalive_connections=readers + 20)
    stats = Stats()
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits, trust_env=False) as client:
        t0 = time.monotonic()
        ids = await start_jobs(client, args.jobs, args.n, args.style)
        stop = asyncio.Event()
        streamers = int(readers * args.stream_share)
        tasks = [
            asyncio.create_task((streamer if i < streamers else poller)((client, ids, args.think, stop, stats), i))
            for i in range(readers)
        ]
        try:
            jobs = await wait_jobs(client, ids, t0 + args.timeout)
        finally:
            stop.set()
            if tasks:
                await asyncio.wait(tasks, timeout=10)
            for task in tasks:
                task.cancel()
        wall = time.monotonic() - t0
    accepted = sum(int(job["progress"]["accepted"]) for job in jobs)
    statuses = sorted({str(job["status"]) for job in jobs})
    return wall, accepted, stats, statuses


def run_server(llm_url: str, args: argparse.Namespace) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {
        **os.environ,
        "DIALOGFORGE_DATA_DIR": tempfile.mkdtemp(prefix="dialogforge-load-"),
        "DIALOGFORGE_LLM_BASE_URL": llm_url,
        "DIALOGFORGE_MAX_CONCURRENT_JOBS": str(args.jobs),
        "DIALOGFORGE_LLM_MAX_CONCURRENCY": str(args.jobs * 2),
    }
    env.pop("DIALOGFORGE_API_KEYS", None)
    command = [sys.executable, "-m", "service.cli", "serve", "--port", str(port), "--log-level", "warning"]
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    wait_until_up(f"{base}/healthz", process)
    return process, base


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--jobs", type=int, default=10)
    parser.add_argument("--n", type=int, default=8, help="accepted samples per job")
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--stream-share", type=float, default=0.3, help="share of clients following SSE")
    parser.add_argument("--think", type=float, default=0.1, help="seconds between a client's requests")
    parser.add_argument("--latency", type=float, default=0.2, help="fake LLM seconds per call")
    parser.add_argument("--style", default="gentle")
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()

    with fake_llm_server(args.latency) as llm_url:
        results = {}
        for name, readers in (("no readers", 0), (f"{args.clients} readers", args.clients)):
            server, base = run_server(llm_url, args)
            try:
                results[name] = asyncio.run(phase(base, args, readers))
            finally:
                server.terminate()
                server.wait(60)

    print(f"{args.jobs} jobs x n={args.n} (concurrency 2), fake LLM latency {args.latency} s, think {args.think} s")
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for name, (wall, accepted, stats, statuses) in results.items():
        print(
            f"[{name}] {accepted} accepted in {wall:.1f} s = {accepted / wall:.2f} samples/s; job statuses {statuses}"
        )
        for line in stats.report():
            print(line)
    base_rate = results["no readers"][1] / results["no readers"][0]
    loaded = results[f"{args.clients} readers"]
    print(f"throughput with readers: {100 * (loaded[1] / loaded[0]) / base_rate:.0f}% of the no-reader run")


if __name__ == "__main__":
    main()
