"""Import throughput and peak memory: ``dialogforge datasets import`` vs ``datasets.load_dataset("json")``.

Writes a ShareGPT JSON Lines file of N chat rows (1-3 exchanges, Chinese and English, ~500 bytes a
row), then runs, side by side and each in its own fresh process (so peak RSS is its own):

- ``hf``: ``datasets.load_dataset("json", data_files=FILE, split="train")`` with an empty cache dir,
- ``dialogforge``: ``import_sources`` into an empty store (parse, check, ids, lineage, Parquet).

Rounds alternate the two to spread machine noise; the script prints each run (wall time, CPU
time of that process and its threads, peak RSS), the medians, the ratio, and the load average.
Run under ``flock /tmp/df-bench.lock`` on a shared machine::

    python -m benchmarks.dataset_import --rows 100000 --rows 1000000 --rounds 3
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_ZH = "我的信用卡账单怎么查询积分兑换逾期处理快递没有更新请帮我看看谢谢你好今天心情不好"
_EN = "please help me check my card statement points refund delivery thanks hello today".split()
_CHILD = {
    "hf": (
        "import datasets, sys\ndatasets.disable_progress_bars()\n"
        "d = datasets.load_dataset('json', data_files=sys.argv[1], split='train', cache_dir=sys.argv[2])\n"
        "assert d.num_rows == int(sys.argv[3]), d.num_rows\n"
    ),
    "dialogforge": (
        "import sys\nfrom pathlib import Path\n"
        "from graph.datasets.importer import import_sources\nfrom graph.datasets.store import DatasetStore\n"
        "m = import_sources(DatasetStore(Path(sys.argv[2])), 'bench', [sys.argv[1]]).manifest\n"
        "assert m.rows == int(sys.argv[3]), m.rows\n"
    ),
}


def write_chat_file(path: Path, rows: int, seed: int = 0) -> None:
    """Write ``rows`` ShareGPT rows of 1-3 exchanges each."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8") as handle:
        for index in range(rows):
            turns = []
            for _ in range(rng.choice((1, 1, 2, 3))):
                user = "".join(rng.choice(_ZH) for _ in range(rng.randint(8, 40))) + f" #{index}"
                reply = " ".join(rng.choice(_EN) for _ in range(rng.randint(5, 30)))
                turns += [{"from": "human", "value": user}, {"from": "gpt", "value": reply}]
            handle.write(
                json.dumps({"conversations": turns, "system": "你是一位温柔的客服。"}, ensure_ascii=False) + "\n"
            )


def run_child(kind: str, source: Path, rows: int) -> tuple[float, float, float]:
    """Run one import in a fresh process; return (seconds, peak RSS in MB, CPU seconds) of that process."""
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        process = subprocess.Popen([sys.executable, "-c", _CHILD[kind], str(source), out, str(rows)])
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"{kind} failed (status {status})")
    return seconds, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def main() -> None:
    """Run the benchmark and print its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, action="append", help="rows in the file (repeatable)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=None, help="folder for the input files (created)")
    args = parser.parse_args()
    if importlib.util.find_spec("datasets") is None:
        raise SystemExit("the baseline needs HF datasets: make install-test (or pip install -e '.[compat]')")
    sizes = args.rows or [100_000, 1_000_000]
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
    print("load before:", _uptime(), flush=True)
    with tempfile.TemporaryDirectory(dir=args.workdir) as folder:
        for rows in sizes:
            source = Path(folder) / f"chat-{rows}.jsonl"
            write_chat_file(source, rows)
            size_mb = source.stat().st_size / 1e6
            results: dict[str, list[tuple[float, float, float]]] = {"hf": [], "dialogforge": []}
            for round_index in range(args.rounds):
                order = ("hf", "dialogforge") if round_index % 2 == 0 else ("dialogforge", "hf")
                for kind in order:
                    seconds, rss, cpu = run_child(kind, source, rows)
                    results[kind].append((seconds, rss, cpu))
                    print(
                        f"rows={rows} round={round_index + 1} {kind:<11} {seconds:7.2f} s wall, {cpu:6.2f} s CPU, "
                        f"peak RSS {rss:6.0f} MB",
                        flush=True,
                    )
            hf = statistics.median(s for s, _, _ in results["hf"])
            ours = statistics.median(s for s, _, _ in results["dialogforge"])
            print(
                f"rows={rows} ({size_mb:.0f} MB): load_dataset {hf:.2f} s ({rows / hf:,.0f} rows/s), "
                f"dialogforge {ours:.2f} s ({rows / ours:,.0f} rows/s), ratio hf/dialogforge {hf / ours:.2f}x; "
                f"peak RSS hf {max(r for _, r, _ in results['hf']):.0f} MB, "
                f"dialogforge {max(r for _, r, _ in results['dialogforge']):.0f} MB"
            )
    print("load after:", _uptime(), "cpus:", os.cpu_count())


def _uptime() -> str:
    """Return the 1, 5 and 15 minute load averages, as ``uptime`` prints them."""
    return ", ".join(f"{load:.2f}" for load in os.getloadavg())


if __name__ == "__main__":
    main()
