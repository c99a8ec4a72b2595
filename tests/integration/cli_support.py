"""Run the real ``dialogforge`` entry point in a subprocess, as a user's shell would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def cli_command(*args: str) -> list[str]:
    """The command line that runs ``dialogforge ARGS`` with this interpreter."""
    return [sys.executable, "-c", "from service.cli.main import main; main()", *args]


def dialogforge(*args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run ``dialogforge ARGS`` with ``env`` added to this process's environment; capture its output."""
    command = cli_command(*args)
    return subprocess.run(command, env={**os.environ, **env}, capture_output=True, text=True, timeout=timeout)


def descendants(pid: int) -> list[int]:
    """Return the ids of every process below ``pid`` (children, their children...), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], list(children.get(pid, []))
    while todo:
        child = todo.pop()
        found.append(child)
        todo += children.get(child, [])
    return found
