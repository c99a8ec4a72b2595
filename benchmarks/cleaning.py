"""The cleaning benchmark: the default chain and near-dedup alone, against peers, on the planted-noise file.

``flock /tmp/df-bench.lock python -m benchmarks.cleaning --data .data/bench/clean --peer-venvs DIR``
(write the data first with ``python -m benchmarks.cleaning_data``; ``--ours-only`` skips the
peers). The file is imported once as a version of a store in ``--data`` (not timed; reused by
later runs); then each measurement runs in a fresh process and cleans that version into a new one
through ``graph.cleaning.run`` (the path of ``dialogforge clean``: Parquet in, Parquet out,
lineage, drop log). Printed per run: rows/s, the peak memory of the whole process tree during the
cleaning (main + workers, sampled from /proc every 0.1 s: RSS and PSS summed over the processes),
the peak RSS of the main process, and per planted kind the precision and recall of the operator
meant to catch it. Peers run from their own virtual environments (``--peer-venvs
DIR/<peer>/bin/python``) on the same JSONL file in the same run (``benchmarks/cleaning_peers/``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from benchmarks.process_tree import descendants
from graph.cleaning.registry import build_operators, parse_ops
from graph.cleaning.run import DROPPED_FILE, clean_version
from graph.datasets.importer import ImportOptions, import_sources
from graph.datasets.store import DatasetStore

DUPLICATES = {"near_duplicate", "exact_duplicate"}
NAME = "bench"
CLEANED = "CLEANED"


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


def pair_score(removed: set[int], truth: dict[int, dict[str, Any]]) -> dict[str, Any]:
    """Score dedup by planted pair: caught when either row of a pair is removed (a tool may keep the copy).

    Recall: planted (copy, original) pairs with a row removed; precision: removed rows that belong to a
    planted pair (as copy or original). Row-level scores count removing the original as a miss.
    """
    pairs = [(row, int(record["of"][1:])) for row, record in truth.items() if record["kind"] in DUPLICATES]
    members = {row for pair in pairs for row in pair}
    caught = sum(1 for copy, original in pairs if copy in removed or original in removed)
    return {
        "pairs": len(pairs),
        "recall": round(caught / len(pairs), 4) if pairs else None,
        "precision": round(len(removed & members) / len(removed), 4) if removed else None,
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
    print(CLEANED, flush=True)  # the parent stops measuring memory here: scoring below is not the cleaning's
    numbers = row_numbers(store, source.ref)
    drops: dict[str, set[int]] = {}
    with (store.folder(result.manifest) / DROPPED_FILE).open(encoding="utf-8") as lines:
        for record in map(json.loads, lines):
            drops.setdefault(record["operator"], set()).add(numbers[record["id"]])
    truth = load_truth(data)
    duplicates = planted(truth, DUPLICATES)
    near, exact = drops.get("near-dedup", set()), drops.get("exact-dedup", set())
    scores = {"near_duplicate": score(near, near | exact, planted(truth, {"near_duplicate"}), duplicates)}
    scores["duplicate_pairs"] = pair_score(near | exact, truth)
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


class TreeMemory:
    """The peaks of the summed RSS and PSS of a process and its descendants, sampled from /proc.

    RSS counts a page shared by several processes (the workers' imported code and data) once per
    process; PSS splits it between them, so the PSS sum is the memory the run really takes.
    """

    def __init__(self, pid: int, every_s: float = 0.1) -> None:
        self.pid, self.every_s = pid, every_s
        self.peak_rss_mb = self.peak_pss_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    @staticmethod
    def _kb(path: str, field: str) -> int:
        try:
            text = Path(path).read_text()
        except OSError:
            return 0
        return next((int(line.split()[1]) for line in text.splitlines() if line.startswith(field)), 0)

    def _sample(self) -> None:
        while not self._stop.is_set():
            tree = [self.pid, *descendants(self.pid)]
            rss = sum(self._kb(f"/proc/{pid}/status", "VmRSS:") for pid in tree)
            pss = sum(self._kb(f"/proc/{pid}/smaps_rollup", "Pss:") for pid in tree)
            self.peak_rss_mb = max(self.peak_rss_mb, rss / 1024)
            self.peak_pss_mb = max(self.peak_pss_mb, pss / 1024)
            self._stop.wait(self.every_s)

    def stop(self) -> dict[str, int]:
        self._stop.set()
        self._thread.join()
        return {"tree_peak_rss_mb": round(self.peak_rss_mb), "tree_peak_pss_mb": round(self.peak_pss_mb)}


def run_child(args: list[str]) -> dict[str, Any]:
    """Run one measurement in a fresh process; return its last JSON line with the tree's peak memory.

    The peak is taken up to the child's ``CLEANED`` line when it prints one (ours: the scoring after
    the cleaning builds a dict of every row id, which is the benchmark's memory, not the cleaning's).
    """
    with tempfile.TemporaryFile("w+", encoding="utf-8") as errors:
        process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=errors, text=True)
        memory = TreeMemory(process.pid)
        peaks: dict[str, int] | None = None
        lines = []
        assert process.stdout is not None
        for line in process.stdout:
            if line.strip() == CLEANED and peaks is None:
                peaks = memory.stop()
            else:
                lines.append(line)
        process.wait()
        peaks = peaks or memory.stop()
        errors.seek(0)
        err = errors.read()
    if process.returncode != 0 or not lines:
        return {"error": (err.strip().splitlines() or ["failed"])[-1]}
    result: dict[str, Any] = json.loads(lines[-1])
    result.update(peaks)
    return result


def peer_scores(result: dict[str, Any], data: Path) -> None:
    """Replace a peer's removed ids by precision and recall on the planted duplicates."""
    removed = {int(row_id[1:]) for row_id in result.pop("removed", [])}
    truth = load_truth(data)
    duplicates = planted(truth, DUPLICATES)
    result["scores"] = {
        "near_duplicate": score(removed, removed, planted(truth, {"near_duplicate"}), duplicates),
        "exact_duplicate": score(removed, removed, planted(truth, {"exact_duplicate"}), duplicates),
        "duplicate_pairs": pair_score(removed, truth),
    }


def main() -> None:
    """Run every measurement side by side and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(".data/bench/clean"))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--peers", default="datatrove,text-dedup,data-juicer,datatrove:chain,data-juicer:chain", help="peer[:mode],..."
    )
    parser.add_argument("--peer-venvs", type=Path, default=Path(".data/bench/venvs"))
    parser.add_argument("--ours-only", action="store_true", help="skip the peers (they take hours at 1M rows)")
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
    for peer in filter(None, "" if args.ours_only else args.peers.split(",")):
        name, _, mode = peer.partition(":")
        python = args.peer_venvs / name / "bin" / "python"
        if not python.exists():
            result = {"error": f"no virtual environment at {python.parent.parent}"}
        else:
            script = peers_dir / f"{name.replace('-', '_')}_run.py"
            result = run_child([str(python), str(script), str(args.data), str(args.workers), *([mode] if mode else [])])
            if "error" not in result:
                peer_scores(result, args.data)
        print(json.dumps({peer: result}, ensure_ascii=False), flush=True)
    print(f"load after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
