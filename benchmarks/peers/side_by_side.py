"""dialogforge against distilabel, Curator and DataDesigner on one task, side by side (issue 17).

The task: N topics (96 by default), for each one generation call and one judge call, keep the
passing. Every tool runs against the same fake OpenAI-compatible server (``--latency`` s a call,
a fresh server per run so its counters are that run's), with ``--concurrency`` calls in flight.
Each peer runs its own script (``run_<tool>.py``) in its own virtual environment, made by
``python -m benchmarks.peers.install``; dialogforge runs as a user runs it: ``dialogforge generate
-n N --concurrency C --no-cache`` in a fresh data directory, with embeddings from the same server
(``DIALOGFORGE_EMBEDDER=openai:fake``) and no cap set: its samples and topic brainstorms share
the job's C calls in flight (agents/job_calls.py). dialogforge also brainstorms its own topics,
checks each draft, rejects near-duplicates and rewrites what the judge fails, so its calls per
kept sample are printed beside the peers'.
``dialogforge-given`` is the same command with the peers' inputs: a style pack file (made from
``--style``) that lists the task's N topics, as the peers are given them, and rejects only exact
repeats (``near_duplicate_similarity: 1.0``); the rule checks and the judge stay.

Printed per run: kept samples, the tool's own seconds for the work (start-up excluded) and kept/s
from them, the process's wall time and peak RSS, the calls and the most in flight the server saw;
then per tool the medians of the rounds, the ratio to the ideal (``concurrency / (calls per kept
x latency)`` with the task's 2 calls and the mean latency) and dialogforge's ratio to the best
peer. ``--tail lognormal`` makes the fake's latency heavy-tailed (median ``--latency``, p99 about
6x the median), where tools that wait for a whole batch's slowest call lose most.

Run: ``python -m benchmarks.peers.install && python -m benchmarks.peers.side_by_side --rounds 3``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from agents.styles import resolve_style
from benchmarks.fake_openai_server import TAIL_SIGMA
from benchmarks.loopback import REPO, fake_llm_server, provider_health

HERE = Path(__file__).resolve().parent
PEER_VENVS = {"distilabel": "distilabel", "curator": "bespokelabs-curator", "data-designer": "data-designer"}
SUBJECTS = (
    "a card payment declined abroad", "a late delivery", "a double charge", "a forgotten password",
    "a refund that has not arrived", "a lost card", "a points balance", "a subscription to cancel",
    "an address change", "a damaged parcel", "an app that crashes at login", "an interest rate question",
)  # fmt: skip


@dataclass
class Run:
    """One tool's run: what it kept, how long its work took, what the server saw."""

    tool: str
    kept: int
    seconds: float
    wall_s: float
    peak_rss_mb: float
    calls: int
    max_in_flight: int

    @property
    def kept_per_s(self) -> float:
        """Kept samples a second of the tool's own work time."""
        return self.kept / self.seconds if self.seconds > 0 else 0.0


def write_topics(path: Path, count: int) -> None:
    """Write ``count`` distinct topics, one a line."""
    lines = [f"{SUBJECTS[index % len(SUBJECTS)]} (case {index + 1})" for index in range(count)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def peer_command(tool: str, work: Path, base_url: str, topics: Path, args: argparse.Namespace, out: Path) -> list[str]:
    """Return the command that runs a peer's script in its own venv."""
    python = work / PEER_VENVS[tool] / "bin" / "python"
    if not python.exists():
        raise SystemExit(f"{tool} is not installed under {work}: run python -m benchmarks.peers.install first")
    script = HERE / f"run_{tool.replace('-', '_')}.py"
    return [
        str(python), str(script), "--base-url", base_url, "--topics", str(topics), "--n", str(args.n),
        "--concurrency", str(args.concurrency), "--workdir", str(out),
    ]  # fmt: skip


def given_topics_pack(args: argparse.Namespace, topics: Path, out: Path) -> Path:
    """Write a pack file: ``--style`` with the task's topics listed and only exact repeats rejected."""
    pack = resolve_style(args.style).model_dump(mode="json", exclude_defaults=True)
    pack |= {"name": "peers-task", "aliases": [], "near_duplicate_similarity": 1.0}
    pack["topics"] = topics.read_text(encoding="utf-8").split("\n")[: args.n]
    path = out / "peers-task.yaml"
    path.write_text(yaml.safe_dump(pack, allow_unicode=True), encoding="utf-8")
    return path


def dialogforge_command(args: argparse.Namespace, out: Path, style: str) -> list[str]:
    """Return the CLI command a user would type (the environment names the endpoint)."""
    return [
        sys.executable, "-m", "service.cli.main", "generate", "--style", style, "-n", str(args.n),
        "--concurrency", str(args.concurrency), "--no-cache", "-o", str(out / "data.jsonl"),
        "--report", str(out / "report"),
    ]  # fmt: skip


def run_tool(tool: str, args: argparse.Namespace, work: Path, topics: Path) -> Run:
    """Run one tool against a fresh fake server and return its figures."""
    server = fake_llm_server(args.latency, tail=args.tail)
    with tempfile.TemporaryDirectory(prefix=f"peer-{tool}-") as folder, server as base_url:
        out = Path(folder)
        env = {**os.environ, "NO_COLOR": "1"}
        if tool.startswith("dialogforge"):
            style = str(given_topics_pack(args, topics, out)) if tool == "dialogforge-given" else args.style
            command = dialogforge_command(args, out, style)
            env |= {
                "DIALOGFORGE_LLM_BASE_URL": base_url,
                "DIALOGFORGE_LLM_API_KEY": "sk-fake",
                "DIALOGFORGE_EMBEDDER": "openai:fake",
                "DIALOGFORGE_DATA_DIR": str(out / "data"),
            }
        else:
            command = peer_command(tool, work, base_url, topics, args, out)
        stdout_path, stderr_path = out / "stdout.txt", out / "stderr.txt"
        with stdout_path.open("wb") as stdout, stderr_path.open("wb") as stderr:
            started = time.perf_counter()
            process = subprocess.Popen(command, cwd=REPO, env=env, stdout=stdout, stderr=stderr)
            timer = threading.Timer(args.timeout, process.kill)
            timer.start()
            _, status, usage = os.wait4(process.pid, 0)
            timer.cancel()
            process.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        peak = usage.ru_maxrss / 1024
        if process.returncode != 0:
            tail = stderr_path.read_text("utf-8", "replace").strip().splitlines()[-3:]
            raise SystemExit(f"{tool} failed (exit {process.returncode}): {' | '.join(tail)}")
        kept, seconds = _outcome(tool, stdout_path.read_text("utf-8", "replace"), out)
        health = provider_health(base_url)
    return Run(tool, kept, seconds, wall, peak, int(health["calls"]), int(health["max_in_flight"]))


def _outcome(tool: str, stdout: str, out: Path) -> tuple[int, float]:
    """Return (kept, seconds of work): the peer's last JSON line, or dialogforge's report."""
    if tool.startswith("dialogforge"):
        summary = json.loads((out / "report" / "report.json").read_text(encoding="utf-8"))
        summary = summary.get("summary", summary)
        return int(summary["accepted"]), float(summary["wall_s"])
    last = json.loads(stdout.strip().splitlines()[-1])
    return int(last["kept"]), float(last["seconds"])


def main() -> None:
    """Run every tool ``--rounds`` times, alternating the order, and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=96, help="topics (samples to keep)")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--tail", choices=["fixed", "lognormal"], default="fixed", help="the fake's chat latency")
    parser.add_argument("--style", default="empathetic-cs")
    parser.add_argument("--tools", default="dialogforge,dialogforge-given,distilabel,curator,data-designer")
    parser.add_argument("--work", type=Path, default=REPO / ".data" / "peers", help="where the peers' venvs are")
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()
    tools = [tool.strip() for tool in args.tools.split(",") if tool.strip()]
    print(f"load {', '.join(f'{x:.2f}' for x in os.getloadavg())}; n {args.n}, concurrency {args.concurrency}, "
          f"latency {args.latency} s ({args.tail}), cpus {os.cpu_count()}", flush=True)  # fmt: skip
    runs: dict[str, list[Run]] = {tool: [] for tool in tools}
    with tempfile.TemporaryDirectory(prefix="peer-topics-") as folder:
        topics = Path(folder) / "topics.txt"
        write_topics(topics, args.n)
        for round_index in range(args.rounds):
            order = tools[round_index % len(tools) :] + tools[: round_index % len(tools)]
            for tool in order:
                run = run_tool(tool, args, args.work, topics)
                runs[tool].append(run)
                print(
                    f"round {round_index + 1} {tool:<17} kept {run.kept:>4} in {run.seconds:6.2f} s "
                    f"({run.kept_per_s:5.2f}/s), process {run.wall_s:6.2f} s, peak RSS {run.peak_rss_mb:5.0f} MB, "
                    f"calls {run.calls:>4} ({run.calls / max(run.kept, 1):.2f}/kept), max in flight "
                    f"{run.max_in_flight}",
                    flush=True,
                )
    mean_latency = args.latency * (math.exp(TAIL_SIGMA**2 / 2) if args.tail == "lognormal" else 1.0)
    ideal = args.concurrency / (2 * mean_latency)
    medians = {tool: statistics.median(run.kept_per_s for run in found) for tool, found in runs.items()}
    for tool, rate in medians.items():
        print(f"{tool:<17} median {rate:5.2f} kept/s = {rate / ideal:.2f} of the ideal {ideal:.1f}/s")
    peers = {tool: rate for tool, rate in medians.items() if not tool.startswith("dialogforge")}
    if not peers:
        return
    best = max(peers, key=lambda tool: peers[tool])
    for ours in (tool for tool in medians if tool.startswith("dialogforge")):
        print(f"{ours} / best peer ({best}): {medians[ours] / peers[best]:.2f}x")


if __name__ == "__main__":
    main()
