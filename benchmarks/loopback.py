"""Loopback helpers for benchmarks and integration tests: free ports, readiness, the fake LLM."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """Return a free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, process: subprocess.Popen[bytes] | None = None, timeout: float = 60) -> None:
    """Poll ``url`` until it answers 200; fail early if ``process`` exits, or after ``timeout`` s."""
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
    raise RuntimeError(f"{url} did not come up in {timeout} s")


@contextlib.contextmanager
def fake_llm_server(
    latency_s: float,
    embedding_latency_s: float = 0.1,
    api_key: str | None = None,
    *,
    rpm: float | None = None,
    tail: str = "fixed",
    mechanical: bool = False,
) -> Iterator[str]:
    """Run benchmarks.fake_openai_server in a subprocess; yield its base URL (ending in /v1)."""
    port = free_port()
    command = [sys.executable, "-m", "benchmarks.fake_openai_server", "--port", str(port), "--latency", str(latency_s)]
    command += ["--embedding-latency", str(embedding_latency_s)] + (["--api-key", api_key] if api_key else [])
    command += (["--rpm", str(rpm)] if rpm else []) + ["--tail", tail] + (["--mechanical"] if mechanical else [])
    process = subprocess.Popen(command, cwd=REPO)
    try:
        wait_until_up(f"http://127.0.0.1:{port}/health", process)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.kill()
        process.wait(10)
