"""The side-by-side task as every peer script runs it: arguments, topics, prompts, the keep rule, the result line.

Standard library only: the ``run_<tool>.py`` scripts run in the peers' own virtual environments
(no dialogforge there) and import this file as a sibling module (``python benchmarks/peers/run_x.py``
puts this folder first on ``sys.path``).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import IO, Any

GENERATE = "Write a short, empathetic customer-service dialogue (user and assistant) about: {topic}"
JUDGE = "Score the criteria: empathy, style, correctness. Reply with JSON.\n\n{dialogue}"
OFFLINE_ENV = {"HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1", "DO_NOT_TRACK": "1"}


def jinja(template: str) -> str:
    """Return a prompt with ``{name}`` fields written as Jinja's ``{{ name }}`` (distilabel, DataDesigner)."""
    return template.replace("{", "{{ ").replace("}", " }}")


def parse_args(description: str) -> argparse.Namespace:
    """Parse the arguments ``side_by_side`` passes; create ``--workdir`` (resolved)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--topics", type=Path, required=True)
    parser.add_argument("--n", type=int, default=None, help="use the first N topics (default: all)")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workdir", type=Path, required=True)
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    args.workdir = args.workdir.resolve()
    return args


def read_topics(args: argparse.Namespace) -> list[str]:
    """Return the topics (the first ``--n`` when given)."""
    topics = [line.strip() for line in args.topics.read_text(encoding="utf-8").splitlines() if line.strip()]
    return topics[: args.n] if args.n else topics


def parses(text: Any) -> bool:
    """Whether the judge's answer is JSON (the task's keep rule)."""
    try:
        json.loads(text)
    except (TypeError, ValueError):
        return False
    return True


def keep_stdout_for_result() -> IO[str]:
    """Send everything written to fd 1 (the tools' logs, their subprocesses') to stderr; return the real stdout."""
    result = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    return result


def print_result(out: IO[str], tool: str, version: str, topics: int, generated: int, kept: int, **rest: Any) -> None:
    """Print the run's figures as one JSON line (``side_by_side`` reads the last line)."""
    figures = {"tool": tool, "version": version, "topics": topics, "generated": generated, "kept": kept, **rest}
    print(json.dumps(figures), file=out, flush=True)
