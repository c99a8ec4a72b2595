"""How long /healthz waits while style packs are being registered (issue 16, finding 7).

Starts the fake OpenAI server and ``dialogforge serve`` as subprocesses, then measures /healthz
latency twice, side by side: while the server is idle, and while ``--packs`` concurrent clients
each POST a ~``--kib`` KiB YAML pack to /v1/styles (``--rounds`` times), after one unmeasured
warm-up pack. Prints p50, p99 and max of both and their ratio, with the machine's load average.

Run: ``python -m benchmarks.style_parse_stall --packs 4 --kib 250 --rounds 3``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import httpx
import yaml

from agents.styles import builtin_styles
from benchmarks.loopback import REPO, fake_llm_server, free_port, wait_until_up


def big_pack(name: str, kib: int) -> str:
    """Return a valid pack of about ``kib`` KiB of YAML (many topics)."""
    pack = builtin_styles()["gentle"].model_dump(mode="json")
    pack.update(name=name, aliases=[])
    topic = "一个关于工作压力和休息的较长话题描述，用来让这个包变大"
    pack["topics"] = []
    text = ""
    while len(text.encode()) < kib * 1024 * 0.95:
        pack["topics"] += [f"{topic} {len(pack['topics']) + i}" for i in range(200)]
        text = yaml.safe_dump(pack, allow_unicode=True)
    return text


def poll(base: str, stop: threading.Event, latencies: list[float]) -> None:
    """GET /healthz every 10 ms until ``stop``; record each latency in ms."""
    with httpx.Client(base_url=base, timeout=60, trust_env=False) as client:
        while not stop.is_set():
            started = time.perf_counter()
            client.get("/healthz")
            latencies.append((time.perf_counter() - started) * 1000)
            time.sleep(0.01)


def measure(base: str, packs: list[str], rounds: int) -> tuple[list[float], float]:
    """Return /healthz latencies while the packs are posted concurrently (or idle for 2 s with none)."""
    latencies: list[float] = []
    stop = threading.Event()
    poller = threading.Thread(target=poll, args=(base, stop, latencies))
    poller.start()
    started = time.perf_counter()
    if packs:
        for _ in range(rounds):
            posts = [threading.Thread(target=post, args=(base, text)) for text in packs]
            for thread in posts:
                thread.start()
            for thread in posts:
                thread.join()
    else:
        time.sleep(2)
    seconds = time.perf_counter() - started
    stop.set()
    poller.join()
    return latencies, seconds


def post(base: str, text: str) -> None:
    """Register one pack; fail loudly on anything but 200/201."""
    answer = httpx.post(f"{base}/v1/styles", json={"yaml": text}, timeout=120, trust_env=False)
    if answer.status_code not in (200, 201):
        raise RuntimeError(f"POST /v1/styles answered {answer.status_code}: {answer.text[:200]}")


def summary(latencies: list[float]) -> str:
    """Format p50 / p99 / max of latencies in ms."""
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    return f"p50 {statistics.median(ordered):7.1f} ms  p99 {p99:7.1f} ms  max {ordered[-1]:7.1f} ms  (n={len(ordered)})"


def main() -> None:
    """Run the measurement and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--packs", type=int, default=4, help="concurrent POST /v1/styles clients")
    parser.add_argument("--kib", type=int, default=250, help="size of each pack")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    packs = [big_pack(f"big-{i}", args.kib) for i in range(args.packs)]
    with tempfile.TemporaryDirectory() as data, fake_llm_server(0.05) as llm_url:
        port = free_port()
        env = {**os.environ, "DIALOGFORGE_DATA_DIR": data, "DIALOGFORGE_LLM_BASE_URL": llm_url}
        env.pop("DIALOGFORGE_API_KEYS", None)
        command = [sys.executable, "-m", "service.cli", "serve", "--port", str(port), "--log-level", "warning"]
        server = subprocess.Popen(command, cwd=REPO, env=env, stderr=subprocess.DEVNULL)
        try:
            base = f"http://127.0.0.1:{port}"
            wait_until_up(f"{base}/healthz", server, timeout=120)
            idle, _ = measure(base, [], 0)
            post(base, packs[0])  # warm-up, not measured: the first pack starts the parser's worker processes
            busy, seconds = measure(base, packs, args.rounds)
        finally:
            server.terminate()
            server.wait(30)
    size = len(packs[0].encode()) // 1024
    load = " ".join(f"{value:.2f}" for value in os.getloadavg())
    print(f"load average: {load} (code in {REPO})")
    print(f"/healthz idle:                        {summary(idle)}")
    print(f"/healthz during {args.packs} x {size} KiB packs x {args.rounds}: {summary(busy)}  ({seconds:.1f} s)")
    print(f"max ratio busy/idle: {max(busy) / max(idle):.1f}x")


if __name__ == "__main__":
    main()
