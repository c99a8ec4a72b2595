"""The cleaning benchmark: the default chain and near-dedup alone, against peers, on the planted-noise file.

``flock /tmp/df-bench.lock python -m benchmarks.cleaning --data .data/bench/clean [--peers datatrove,text-dedup]``
(write the data first with ``python -m benchmarks.cleaning_data``). The file is imported once as a
version of a store in ``--data`` (not timed; reused by later runs); then each measurement runs in
a fresh process and cleans that version into a new one through ``graph.cleaning.run`` (the path
of ``dialogforge clean``: Parquet in, Parquet out, lineage, drop log). Printed per run: rows/s,
the peak RSS of the whole process tree (main + workers, sampled from /proc every 0.1 s) and of
the main process, and per planted kind the precision and recall of the operator meant to catch
it. Peers run from their own virtual environments (``--peer-venvs DIR/<peer>/bin/python``) on
the same JSONL file in the same run (``benchmarks/cleaning_peers/``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from graph.cleaning.registry import build_operators, parse_ops
from graph.cleaning.run import DROPPED_FILE, clean_version
from graph.datasets.importer import ImportOptions, import_sources
from graph.datasets.store import DatasetStore

DUPLICATES = {"near_duplicate", "exact_duplicate"}
NAME = "bench"


def planted(truth: dict[int, dict[str, Any]], kinds: set[str]) -> set[int]:
    """Return the (0-based) rows planted with these kinds."""
    return {row for row, record in truth.items() if record["kind"] in kinds}


def load_truth(data: Path) -> dict[int, dict[str, Any]]:
    """Return the planted rows by 0-based row number (ids ``r0000042`` are row 42)."""
    with (data / "truth.jsonl").open(encoding="utf-8") as lines:
        return {int(record["id"][1:]): record for record in map(json.loads, lines)}


def score(hit: set[int], caught: set[int], planted_rows: set[int], correct: set[int]) -> dict[str, Any]:
    """Precision (``hit`` that are ``correct``) and recall (``planted_rows`` that are ``caught``)."""
    return {
        "planted": len(planted_rows),
        "recall": round(len(planted_rows & caught) / len(planted_rows), 4) if planted_rows else None,
        "hit": len(hit),
        "precision": round(len(hit & correct) / len(hit), 4) if hit else None,
    }


def imported(data: Path) -> DatasetStore:
    """Return the benchmark's store, importing ``dialogues.jsonl`` on first use (not timed)."""
    store = DatasetStore(data / "store")
    if NAME not in store.names():
        started = time.perf_counter()
        result = import_sources(store, NAME, [str(data / "dialogues.jsonl")], ImportOptions(format="sharegpt"))
        seconds = time.perf_counter() - started
        print(json.dumps({"import": {"rows": result.manifest.rows, "seconds": round(seconds, 1)}}), flush=True)
    return store


def row_numbers(store: DatasetStore, ref: str) -> dict[str, int]:
    """Return each sample id's 0-based row in the imported file."""
    numbers: dict[str, int] = {}
    for batch in store.iter_batches(ref, 100_000, columns=["id", "lineage"]):
        rows = batch.column("lineage").field("source_row").to_pylist()
        numbers.update(zip(batch.column("id").to_pylist(), (row - 1 for row in rows), strict=True))
    return numbers


def changed_rows(store: DatasetStore, ref: str, numbers: dict[str, int]) -> dict[str, set[int]]:
    """Return, per operator, the rows of a cleaned version that it changed (from the rows' lineage)."""
    changed: dict[str, set[int]] = {}
    for batch in store.iter_batches(ref, 100_000, columns=["id", "lineage"]):
        params = batch.column("lineage").field("params").to_pylist()
        for sample_id, text in zip(batch.column("id").to_pylist(), params, strict=True):
            for name in json.loads(text)["changed_by"]:
                changed.setdefault(name, set()).add(numbers[sample_id])
    return changed


def measure(kind: str, data: Path, workers: int) -> None:
    """Child mode: clean the imported version with one chain; print one JSON line."""
    store = DatasetStore(data / "store")
    source = store.resolve(NAME)
    chain = parse_ops("default" if kind == "default" else "near-dedup")
    key = f"bench:{kind}:{time.time_ns()}"
    started = time.perf_counter()
    operators = build_operators(chain)
    result = asyncio.run(clean_version(store, source.ref, f"{NAME}-{kind}", chain, operators, workers=workers, key=key))
    seconds = time.perf_counter() - started
    main_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    numbers = row_numbers(store, source.ref)
    drops: dict[str, set[int]] = {}
    with (store.folder(result.manifest) / DROPPED_FILE).open(encoding="utf-8") as lines:
        for record in map(json.loads, lines):
            drops.setdefault(record["operator"], set()).add(numbers[record["id"]])
    truth = load_truth(data)
    duplicates = planted(truth, DUPLICATES)
    near, exact = drops.get("near-dedup", set()), drops.get("exact-dedup", set())
    scores = {"near_duplicate": score(near, near | exact, planted(truth, {"near_duplicate"}), duplicates)}
    if kind == "default":
        changed = changed_rows(store, result.manifest.ref, numbers)
        scores["exact_duplicate"] = score(exact, exact, planted(truth, {"exact_duplicate"}), duplicates)
        refusals = drops.get("refusals", set())
        scores["refusal"] = score(refusals, refusals, planted(truth, {"refusal"}), planted(truth, {"refusal"}))
        for name, planted_kind in (("pii", "pii"), ("strip-html", "html")):
            rows = changed.get(name, set())
            scores[planted_kind] = score(rows, rows, planted(truth, {planted_kind}), planted(truth, {planted_kind}))
    line = {
        "rows_in": result.report.rows_in,
        "rows_out": result.report.rows_out,
        "seconds": round(seconds, 1),
        "rows_per_s": round(result.report.rows_in / seconds),
        "main_peak_mb": round(main_mb),
        "dropped_by": dict(result.report.dropped_by_code()),
        "scores": scores,
    }
    print(json.dumps(line))


class TreeRss:
    """The peak of the summed RSS of a process and its descendants, sampled from /proc."""

    def __init__(self, pid: int, every_s: float = 0.1) -> None:
        self.pid, self.every_s, self.peak_mb = pid, every_s, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _tree(self) -> list[int]:
        children: dict[int, list[int]] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    continue
                children.setdefault(parent, []).append(int(entry.name))
        tree, todo = [], [self.pid]
        while todo:
            pid = todo.pop()
            tree.append(pid)
            todo += children.get(pid, [])
        return tree

    def _sample(self) -> None:
        while not self._stop.is_set():
            total = 0
            for pid in self._tree():
                try:
                    status = Path(f"/proc/{pid}/status").read_text()
                except OSError:
                    continue
                total += next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
            self.peak_mb = max(self.peak_mb, total / 1024)
            self._stop.wait(self.every_s)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return round(self.peak_mb)


def run_child(args: list[str]) -> dict[str, Any]:
    """Run one measurement in a fresh process; return its last JSON line with the tree's peak RSS."""
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    rss = TreeRss(process.pid)
    out, err = process.communicate()
    peak = rss.stop()
    if process.returncode != 0:
        return {"error": (err.strip().splitlines() or ["failed"])[-1]}
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    result["tree_peak_mb"] = peak
    return result


def peer_scores(result: dict[str, Any], data: Path) -> None:
    """Replace a peer's removed ids by precision and recall on the planted duplicates."""
    removed = {int(row_id[1:]) for row_id in result.pop("removed", [])}
    truth = load_truth(data)
    duplicates = planted(truth, DUPLICATES)
    result["scores"] = {
        "near_duplicate": score(removed, removed, planted(truth, {"near_duplicate"}), duplicates),
        "exact_duplicate": score(removed, removed, planted(truth, {"exact_duplicate"}), duplicates),
    }


def main() -> None:
    """Run every measurement side by side and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(".data/bench/clean"))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--peers", default="datatrove,text-dedup")
    parser.add_argument("--peer-venvs", type=Path, default=Path(".data/bench/venvs"))
    parser.add_argument("--measure", choices=["default", "near-dedup"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(args.measure, args.data, args.workers)
        return
    imported(args.data)
    print(f"load before: {os.getloadavg()[0]:.2f}", flush=True)
    base = [sys.executable, "-m", "benchmarks.cleaning", "--data", str(args.data), "--workers", str(args.workers)]
    for kind in ("default", "near-dedup"):
        result = run_child([*base, "--measure", kind])
        print(json.dumps({f"ours:{kind}": result}, ensure_ascii=False), flush=True)
    peers_dir = Path(__file__).parent / "cleaning_peers"
    for peer in filter(None, args.peers.split(",")):
        python = args.peer_venvs / peer / "bin" / "python"
        if not python.exists():
            result = {"error": f"no virtual environment at {python.parent.parent}"}
        else:
            script = peers_dir / f"{peer.replace('-', '_')}_run.py"
            result = run_child([str(python), str(script), str(args.data), str(args.workers)])
            if "error" not in result:
                peer_scores(result, args.data)
        print(json.dumps({peer: result}, ensure_ascii=False), flush=True)
    print(f"load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
