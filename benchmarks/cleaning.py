"""The cleaning benchmark: our default chain and near-dedup alone, against peers, on the planted-noise file.

``flock /tmp/df-bench.lock python -m benchmarks.cleaning --data .data/bench/clean [--peers datatrove,text-dedup]``
(write the data first with ``python -m benchmarks.cleaning_data``). Prints, per run: rows/s
(reading the JSONL included), peak RSS of the main process and of the largest worker, and per
planted kind the precision and recall of the operator meant to catch it. Peers run as
subprocesses of their own virtual environments (``--peer-venvs DIR``, one ``DIR/<peer>/bin/python``
each), reading the same file in the same run (see benchmarks/cleaning_peers/).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from agents.schemas import Lineage, Sample, Turn
from graph.cleaning.chain import ChainRunner, CleanedRow
from graph.cleaning.registry import build_operators, parse_ops

ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant"}
DUPLICATES = {"near_duplicate", "exact_duplicate"}


def read_batches(path: Path, batch_size: int) -> Iterator[list[Sample]]:
    """Yield the benchmark file's rows as samples."""
    lineage = Lineage(style="", topic="")
    batch: list[Sample] = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            turns = [Turn(role=ROLES[m["from"]], content=m["value"]) for m in row["conversations"]]
            batch.append(Sample(id=row["id"], status="accepted", system="", turns=turns, lineage=lineage))
            if len(batch) == batch_size:
                yield batch
                batch = []
    if batch:
        yield batch


def load_truth(path: Path) -> dict[str, dict[str, Any]]:
    """Return the planted rows by id."""
    with path.open(encoding="utf-8") as lines:
        return {record["id"]: record for record in map(json.loads, lines)}


def score(
    truth: dict[str, dict[str, Any]], hit: set[str], kind: str, caught: set[str], correct: set[str]
) -> dict[str, Any]:
    """Precision and recall of an operator.

    Args:
        truth: The planted rows.
        hit: The rows the operator dropped (or changed).
        kind: The planted kind it should catch (recall is over these rows).
        caught: The rows counted as caught (e.g. dropped by near- or exact-dedup for a near duplicate).
        correct: The planted rows that the operator is right to hit (precision's numerator).
    """
    planted = {row_id for row_id, record in truth.items() if record["kind"] == kind}
    return {
        "planted": len(planted),
        "recall": round(len(planted & caught) / len(planted), 4) if planted else None,
        "hit": len(hit),
        "precision": round(len(hit & correct) / len(hit), 4) if hit else None,
    }


def planted(truth: dict[str, dict[str, Any]], kinds: set[str]) -> set[str]:
    """Return the ids of the planted rows of these kinds."""
    return {row_id for row_id, record in truth.items() if record["kind"] in kinds}


def run_ours(data: Path, ops: str, workers: int, batch_size: int) -> dict[str, Any]:
    """Run our chain over the file; return speed, memory and per-row drops."""
    dropped: dict[str, str] = {}
    changed: dict[str, set[str]] = {}

    def keep(rows: list[CleanedRow]) -> None:
        for row in rows:
            for name in row.changed_by:
                changed.setdefault(name, set()).add(row.sample.id)

    operators = build_operators(parse_ops(ops))

    def drop(row_id: str, operator: str, code: str, duplicate_of: str | None) -> None:
        dropped[row_id] = operator

    runner = ChainRunner(operators, workers=workers, on_drop=drop)
    started = time.perf_counter()
    report = asyncio.run(runner.run(read_batches(data / "dialogues.jsonl", batch_size), keep))
    seconds = time.perf_counter() - started
    return {
        "rows_in": report.rows_in,
        "rows_out": report.rows_out,
        "seconds": round(seconds, 1),
        "rows_per_s": round(report.rows_in / seconds),
        "dropped_by": dict(report.dropped_by_code()),
        "changed": {op.name: sum(op.changed.values()) for op in report.operators if op.changed},
        "drops": dropped,
        "changed_rows": changed,
    }


def peak_rss_mb() -> dict[str, float]:
    """Return the peak RSS of this process and of its largest finished child, in MB."""
    return {
        "main_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "largest_child_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
    }


def run_child(args: list[str]) -> dict[str, Any]:
    """Run one measurement in a fresh process (so peak RSS is its own) and return its JSON line."""
    done = subprocess.run(args, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return {"error": (done.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(kind: str, data: Path, workers: int, batch_size: int) -> None:
    """Child mode: run one of our measurements and print one JSON line."""
    ops = "default" if kind == "default" else "near-dedup"
    result = run_ours(data, ops, workers, batch_size)
    truth = load_truth(data / "truth.jsonl")
    drops, changed = result.pop("drops"), result.pop("changed_rows")

    def by(*operators: str) -> set[str]:
        return {row_id for row_id, op in drops.items() if op in operators}

    duplicates = planted(truth, DUPLICATES)
    scores = {
        "near_duplicate": score(truth, by("near-dedup"), "near_duplicate", by("near-dedup", "exact-dedup"), duplicates)
    }
    if kind == "default":
        scores["exact_duplicate"] = score(truth, by("exact-dedup"), "exact_duplicate", by("exact-dedup"), duplicates)
        scores["refusal"] = score(truth, by("refusals"), "refusal", by("refusals"), planted(truth, {"refusal"}))
        for name, kind_ in (("pii", "pii"), ("strip-html", "html")):
            rows = changed.get(name, set())
            scores[kind_] = score(truth, rows, kind_, rows, planted(truth, {kind_}))
    print(json.dumps({**result, "scores": scores, "rss": peak_rss_mb()}))


def main() -> None:
    """Run every measurement side by side and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(".data/bench/clean"))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--peers", default="datatrove,text-dedup")
    parser.add_argument("--peer-venvs", type=Path, default=Path(".data/bench/venvs"))
    parser.add_argument("--measure", choices=["default", "near-dedup"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(args.measure, args.data, args.workers, args.batch_size)
        return
    print(f"load before: {os.getloadavg()[0]:.2f}", flush=True)
    base = [sys.executable, "-m", "benchmarks.cleaning", "--data", str(args.data), "--workers", str(args.workers)]
    results: dict[str, Any] = {}
    for kind in ("default", "near-dedup"):
        results[f"ours:{kind}"] = run_child([*base, "--batch-size", str(args.batch_size), "--measure", kind])
        print(json.dumps({f"ours:{kind}": results[f"ours:{kind}"]}, ensure_ascii=False), flush=True)
    peers_dir = Path(__file__).parent / "cleaning_peers"
    for peer in filter(None, args.peers.split(",")):
        python = args.peer_venvs / peer / "bin" / "python"
        if not python.exists():
            results[peer] = {"error": f"no virtual environment at {python.parent.parent}"}
        else:
            script = peers_dir / f"{peer.replace('-', '_')}_run.py"
            results[peer] = run_child([str(python), str(script), str(args.data), str(args.workers)])
        print(json.dumps({peer: results[peer]}, ensure_ascii=False), flush=True)
    print(f"load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
