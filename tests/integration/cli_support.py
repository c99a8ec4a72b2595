"""Run the real ``dialogforge`` entry point in a subprocess, as a user's shell would."""

from __future__ import annotations

import os
import subprocess
import sys


def cli_command(*args: str) -> list[str]:
    """The command line that runs ``dialogforge ARGS`` with this interpreter."""
    return [sys.executable, "-c", "from service.cli.main import main; main()", *args]


def dialogforge(*args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run ``dialogforge ARGS`` with ``env`` added to this process's environment; capture its output."""
    command = cli_command(*args)
    return subprocess.run(command, env={**os.environ, **env}, capture_output=True, text=True, timeout=timeout)
