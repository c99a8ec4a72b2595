"""Embedded-model throughput and diversity: dialogforge against the seed-000 way, same model.

Both runs use the embedded Qwen2.5-Coder-1.5B server, started once, and the same style pack:

- throughput: accepted samples per minute, LLM calls and tokens per accepted sample;
- diversity of what each accepted: distinct-2 of the user turns and of the replies, mean pairwise
  embedding distance, near-duplicate pairs (user turns at the pack's near-duplicate similarity).

The two are not held to the same bar: dialogforge's samples also passed the rubric judge, PII,
language and near-duplicate checks. Run:
``python -m benchmarks.embedded_vs_seed000 --style gentle --n 30``.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

from agents.embeddings import Embedder
from agents.local_llm import resolve_model_path
from agents.schemas import Sample
from agents.styles import StylePack, resolve_style
from benchmarks.seed000_baseline import BaselineRun, run_baseline
from graph.diversity import DiversityReport, diversity_report
from graph.progress import JobSummary
from graph.runner import JobRunner
from service.engine import Engine
from service.settings import Settings


def describe(name: str, report: DiversityReport) -> str:
    """Format one diversity report as a table row."""
    return (
        f"| {name} | {report.n} | {report.distinct_2:.3f} | {report.mean_pairwise_distance:.3f} "
        f"| {report.near_duplicates} |"
    )


def main() -> None:
    """Run both ways and print the figures side by side."""
    parser = argparse.ArgumentParser(description="embedded throughput and diversity vs the seed-000 way")
    parser.add_argument("--style", default="gentle")
    parser.add_argument("--n", type=int, default=30)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    pack = resolve_style(args.style)
    model_path = resolve_model_path(Settings().data_dir, Settings().local_gguf)  # assembled once per machine
    settings = Settings(data_dir=Path(tempfile.mkdtemp(prefix="df-bench-")), local_gguf=model_path)
    engine = Engine.start(settings)  # starts the embedded server, as `dialogforge generate` does
    try:
        assert engine.server is not None
        baseline = run_baseline(engine.base_url, engine.server.model_name, pack, args.n, engine.embedder)
        samples, summary = asyncio.run(run_ours(engine, pack, args.n, args.concurrency))
    finally:
        engine.stop()
    print_figures(pack, args.n, baseline, samples, summary, engine.embedder)


async def run_ours(engine: Engine, pack: StylePack, n: int, concurrency: int) -> tuple[list[Sample], JobSummary]:
    """Make n samples with the full loop."""
    runner = JobRunner(engine.loop_deps(pack, "bench"), n, concurrency=concurrency)
    summary = await runner.run()
    return runner.accepted, summary


def print_figures(
    pack: StylePack, n: int, baseline: BaselineRun, samples: list[Sample], summary: JobSummary, embedder: Embedder
) -> None:
    """Print throughput and diversity tables."""
    threshold = pack.near_duplicate_similarity
    print(f"style {pack.name}, target {n} accepted samples each, same embedded model")
    print("| way | accepted | minutes | accepted/min | LLM calls per accepted | tokens per accepted |")
    print("|---|---|---|---|---|---|")
    b_min = baseline.seconds / 60
    print(
        f"| seed 000 (one request at a time, filter only) | {len(baseline.accepted)} | {b_min:.1f} "
        f"| {len(baseline.accepted) / b_min:.2f} | {baseline.calls / max(len(baseline.accepted), 1):.2f} "
        f"| {baseline.tokens / max(len(baseline.accepted), 1):.0f} |"
    )
    o_min = summary.wall_s / 60
    print(
        f"| dialogforge (loop + judge, concurrency) | {summary.accepted} | {o_min:.1f} "
        f"| {summary.accepted / o_min:.2f} | {summary.calls_per_accepted or 0:.2f} "
        f"| {summary.tokens_per_accepted or 0:.0f} |"
    )
    print()
    print("| set | n | distinct-2 | mean pairwise distance | near-duplicate pairs |")
    print("|---|---|---|---|---|")
    sets = {
        "seed 000: user turns": [user for user, _ in baseline.accepted],
        "dialogforge: user turns": [sample.user_text() for sample in samples],
        "seed 000: replies": [reply for _, reply in baseline.accepted],
        "dialogforge: replies": [sample.assistant_text() for sample in samples],
    }
    for name, texts in sets.items():
        print(describe(name, diversity_report(texts, embedder, threshold)))
    print(f"rejected by reason (dialogforge): {summary.rejected_by_reason}")


if __name__ == "__main__":
    main()
