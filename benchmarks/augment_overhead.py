"""Augmentation overhead: accepted children/s against the ideal, with an LLM that always takes 1 s.

The same set-up and formula as :mod:`benchmarks.pipeline_overhead`: the fake OpenAI-compatible
server on loopback answers every call after ``--latency`` s and embeds through ``/v1/embeddings``
(remote hashed vectors, ``--embedding-latency`` s a call); ``--parents`` synthetic zh rows are
written to a real data-set store, then :class:`graph.augment.runner.AugmentRunner` runs an operator
over them (``--concurrency`` LLM calls in flight) and writes the children as a new version. The ideal
is ``concurrency / (LLM calls per accepted child x latency)``. Also printed: the ideal by round
trips (the judge's per-criterion calls of one child run concurrently, so a child that passes at
once costs two latencies, not 1 + judge calls).

Run: ``python -m benchmarks.augment_overhead --concurrency 32 --parents 320 --latency 1.0``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

from agents.augment.registry import get_operator, parse_spec
from agents.schemas import Lineage, Sample, Turn
from agents.styles import resolve_style
from benchmarks.fake_llm import ZH_WORDS
from benchmarks.loopback import fake_llm_server, provider_health
from graph.augment.runner import AugmentReport, AugmentRunner
from graph.augment.source import RowSource
from graph.datasets.store import DatasetStore
from service.engine import Engine
from service.jobs.kinds.augment_run import augment_deps
from service.settings import Settings


def parents(count: int) -> list[Sample]:
    """``count`` distinct one-exchange gentle-style rows (no two share their pair of words, up to 3,000 rows)."""
    rows, size = [], len(ZH_WORDS)
    for index in range(count):
        first, second = ZH_WORDS[index % size], ZH_WORDS[(index % size + 1 + index // size) % size]
        turns = [
            Turn(role="user", content=f"最近{first}和{second}的事让我有点烦（第{index}件）"),
            Turn(role="assistant", content=f"{first}的事一定让你很累吧，想和我聊聊{second}吗呀？"),
        ]
        rows.append(Sample(id=f"p{index}", status="accepted", system="", turns=turns, lineage=Lineage(origin="import")))
    return rows


async def run(runner: AugmentRunner, store: DatasetStore, concurrency: int) -> tuple[AugmentReport, str]:
    """Run the operator over the version and write the children."""

    async def keep(child: Sample) -> None:
        if child.status == "accepted":
            writer.add([child])

    with store.new_version("bench-aug", operation="augment", parents=["bench@1"]) as writer:
        report = await runner.run(RowSource.of_version(store, "bench@1"), keep)
    return report, writer.manifest.ref


def main() -> None:
    """Measure and print the ratio to the ideal."""
    parser = argparse.ArgumentParser(description="augmentation overhead against a fixed-latency fake LLM")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--parents", type=int, default=320)
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--embedding-latency", type=float, default=0.1)
    parser.add_argument("--op", default="paraphrase", choices=["paraphrase", "extend"])
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="df-aug-bench-"))
    store = DatasetStore(data_dir)
    with store.new_version("bench", operation="import") as writer:
        writer.add(parents(args.parents))
    pack = resolve_style("gentle")
    # the hashed vectors are not semantic: no meaning band (the checks still embed and compare)
    spec = parse_spec(args.op, {"min_similarity": 0.0} if args.op == "paraphrase" else {"turns": 2})
    with fake_llm_server(args.latency, args.embedding_latency) as base_url:
        settings = Settings(
            llm_base_url=base_url, data_dir=data_dir, llm_max_concurrency=8 * args.concurrency,
            llm_max_retries=0, embedder="openai:fake",
        )  # fmt: skip
        engine = Engine.start(settings)
        try:
            deps = augment_deps(engine, pack, [spec])
            runner = AugmentRunner(deps, pack, [spec], concurrency=args.concurrency, parent_version="bench@1")
            started = time.perf_counter()
            report, ref = asyncio.run(run(runner, store, args.concurrency))
            elapsed = time.perf_counter() - started
            most_in_flight = provider_health(base_url)["max_in_flight"]
        finally:
            engine.stop()

    calls = sum(usage.calls for usage in report.tokens.values())
    accepted = max(report.children, 1)
    judge_prompts = len(deps.plans[spec.op].groups(get_operator(spec.op).criteria(pack, spec)))
    ideal = args.concurrency / (calls / accepted * args.latency)
    measured = report.children / elapsed
    print(f"load average {os.getloadavg()[0]:.2f} (1 min), {os.cpu_count()} cpus")
    print(
        f"op {args.op}, parents {args.parents}, concurrency {args.concurrency}, LLM latency {args.latency:.2f} s, "
        f"remote embedder ({args.embedding_latency:.2f} s a call); wrote {ref}"
    )
    print(f"most LLM calls in flight at the server: {most_in_flight} (the concurrency bounds them)")
    print(f"accepted {report.children}, rejected {dict(report.rejected)}, rewrites {report.rewrites}")
    print(
        f"LLM calls per accepted child: {calls / accepted:.2f}"
        + (f" (judge prompts {judge_prompts})" if judge_prompts else "")
    )
    print(f"ideal:     {ideal:.2f} children/s  (= concurrency / (calls per accepted x latency))")
    print(f"measured:  {measured:.2f} children/s  (wall {elapsed:.1f} s)  ratio {measured / ideal:.3f}")
    rounds = (report.children + report.rewrites) * 2 / accepted  # draft/rewrite + one concurrent judge round each
    print(f"by round trips: ideal {args.concurrency / (rounds * args.latency):.2f} children/s, "
          f"ratio {measured / (args.concurrency / (rounds * args.latency)):.3f}")  # fmt: skip


if __name__ == "__main__":
    main()
