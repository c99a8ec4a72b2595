"""Loopback helpers for benchmarks and integration tests: free ports, readiness, the fake LLM."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """Return a free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, process: subprocess.Popen[bytes] | None = None, timeout: float = 120) -> None:
    """Poll ``url`` until it answers 200; fail early if ``process`` exits, or after ``timeout`` s.

    On a timeout ``process`` is killed first: a server that did not come up must not outlive the
    caller (two such ``serve`` processes were found alive an hour after a failed test).
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"the process behind {url} exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=1, trust_env=False).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    if process is not None:
        process.kill()
        process.wait(10)
    raise RuntimeError(f"{url} did not come up in {timeout} s")


def provider_health(base_url: str) -> dict[str, Any]:
    """Return the fake provider's ``/health`` counters (calls, in flight, batches...) from its ``/v1`` URL."""
    return dict(httpx.get(base_url.removesuffix("/v1") + "/health", timeout=5, trust_env=False).json())


@contextlib.contextmanager
def fake_llm_server(
    latency_s: float,
    embedding_latency_s: float = 0.1,
    api_key: str | None = None,
    *,
    rpm: float | None = None,
    tail: str = "fixed",
    mechanical: bool = False,
    batch_latency_s: float = 1.0,
    batch_stall: int = 0,
    **faults: float,
) -> Iterator[str]:
    """Run benchmarks.fake_openai_server in a subprocess; yield its base URL (ending in /v1).

    ``faults`` are the server's fault options by name: ``fail_rate``, ``hang_rate``, ``hang_s``, ``seed``.
    """
    port = free_port()
    command = [sys.executable, "-m", "benchmarks.fake_openai_server", "--port", str(port), "--latency", str(latency_s)]
    command += ["--embedding-latency", str(embedding_latency_s)] + (["--api-key", api_key] if api_key else [])
    command += (["--rpm", str(rpm)] if rpm else []) + ["--tail", tail] + (["--mechanical"] if mechanical else [])
    command += [part for name, value in faults.items() for part in (f"--{name.replace('_', '-')}", str(value))]
    command += ["--batch-latency", str(batch_latency_s), "--batch-stall", str(batch_stall)]
    process = subprocess.Popen(command, cwd=REPO)
    try:
        wait_until_up(f"http://127.0.0.1:{port}/health", process)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.kill()
        process.wait(10)
