"""Install each peer of the side-by-side benchmark into its own virtual environment (issue 17).

One venv per tool under ``--work`` (default ``.data/peers``), ``pip install`` of the pinned version
from the package index (nothing else is downloaded), then an import check in that venv. Prints, per
tool, ``ok`` with its version or exactly why it failed (the last lines pip or Python printed).
The side-by-side run that uses these venvs is ``benchmarks.peers.side_by_side``.

Run: ``python -m benchmarks.peers.install [--work DIR]``.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

PEERS = {  # pip requirement(s) -> module to import
    # distilabel's OpenAILLM needs openai, and distilabel.models imports requests; neither is its dependency
    "distilabel==1.5.3 openai==3.60.0 requests==2.34.2": "distilabel",
    "bespokelabs-curator==0.1.31": "bespokelabs.curator",
    "data-designer==0.9.7": "data_designer",
}


def _tail(text: str, lines: int = 3) -> str:
    return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:])


def install(requirement: str, module: str, work: Path) -> str:
    """Create the tool's venv if needed, install it, import it; return a one-line outcome."""
    name = requirement.split("==")[0]
    packages = requirement.split()
    venv = work / name
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = subprocess.run([str(python), "-m", "pip", "install", "-q", *packages], capture_output=True, text=True)
    if pip.returncode != 0:
        return f"{name}: pip install failed: {_tail(pip.stderr or pip.stdout)}"
    probe = f"import {module}, importlib.metadata as m; print(m.version({name!r}))"
    check = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, timeout=300)
    if check.returncode != 0:
        return f"{name}: installed but does not import: {_tail(check.stderr)}"
    return f"{name}: ok {check.stdout.strip()} ({venv})"


def main() -> None:
    """Install every peer and print one line each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--work", type=Path, default=Path(".data/peers"))
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    for requirement, module in PEERS.items():
        print(install(requirement, module, args.work.resolve()), flush=True)


if __name__ == "__main__":
    main()
