"""Time the QC report of a large version: ``python -m benchmarks.qc_report --rows 100000``.

Writes a synthetic version (Chinese and English dialogues of varied length, half of them with
judge verdicts, some exact and near duplicates, a few rejected rows) into a temporary store,
then builds the report with the configured embedder (``--embedder``, default the bundled e5) the
way ``dialogforge report`` does, and prints the seconds of each phase, the total, the rows per
second and the machine's load. Setting the data up is not timed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import pyarrow as pa

from agents.embeddings import make_embedder
from agents.styles import resolve_style
from graph.datasets.qc.build import ReportOptions, build_reports
from graph.datasets.qc.html import write_report
from graph.datasets.rows import INPUT_SCHEMA
from graph.datasets.store import DatasetStore
from service.report_inputs import share_cores_politely

ZH_TOPICS = ["信用卡账单", "积分兑换", "逾期还款", "额度调整", "转账失败", "挂失补卡", "分期手续费", "年费减免"]
EN_TOPICS = ["card statement", "reward points", "late payment", "credit limit", "failed transfer", "lost card"]
ZH_FILL = "我想问一下这个问题应该怎么处理比较好，麻烦您帮我看看，谢谢您的耐心解答呢。"
EN_FILL = " Could you please tell me what I should do next, and how long it usually takes?"


def _row(index: int, rng: random.Random) -> dict[str, Any]:
    chinese = rng.random() < 0.7
    topic = rng.choice(ZH_TOPICS if chinese else EN_TOPICS)
    if chinese:
        user = f"关于{topic}，{ZH_FILL[: rng.randint(8, len(ZH_FILL))]}"
        reply = f"别担心呢，{topic}的问题可以这样处理：" + "先登录手机银行，再联系客服呀。" * rng.randint(1, 8)
    else:
        user = f"About my {topic}:{EN_FILL[: rng.randint(20, len(EN_FILL))]}"
        reply = f"No worries about your {topic}. " + "Open the app and follow the steps. " * rng.randint(1, 8)
    if index % 50 == 1:  # an exact copy of the row before
        user, reply = f"关于{ZH_TOPICS[0]}，{ZH_FILL}", "别担心呢，先登录手机银行呀。"
    turns = [{"role": "user", "content": user}, {"role": "assistant", "content": reply}]
    if rng.random() < 0.3:
        turns += [{"role": "user", "content": "好的，还有别的吗？"}, {"role": "assistant", "content": "没有了呢。"}]
    attempts: list[dict[str, Any]] = []
    if index % 2 == 0:
        scores = {"empathy": rng.randint(2, 5), "style": rng.randint(3, 5), "correctness": rng.randint(1, 5)}
        verdict = {"scores": scores, "passed": True, "prompt_name": "anchored", "reasons": {}, "feedback": ""}
        attempts = [{"kind": "generate", "turns": turns, "check_failures": [], "verdict": verdict}]
    rejected = index % 97 == 0
    return {
        "id": f"row-{index}",
        "status": "rejected" if rejected else "accepted",
        "system": "你是一位温柔的银行客服。",
        "turns": turns,
        "reject_reason": "judge_failed: empathy 2 < 4" if rejected else None,
        "lineage": {
            "origin": "generated" if index % 3 else "import",
            "style": "bank-cs",
            "topic": topic,
            "workspace": "default",
            "models": "{}",
            "prompt_hashes": "{}",
            "tokens": "{}",
            "params": "{}",
        },
        "attempts": json.dumps(attempts, ensure_ascii=False),
    }


def make_version(store: DatasetStore, rows: int, seed: int = 0) -> str:
    """Write ``rows`` synthetic rows as a new version and return its reference."""
    rng = random.Random(seed)
    with store.new_version("bench", operation="generate") as writer:
        for start in range(0, rows, 10_000):
            chunk = [_row(index, rng) for index in range(start, min(rows, start + 10_000))]
            writer.add_batch(pa.Table.from_pylist(chunk, schema=INPUT_SCHEMA))
    assert writer.manifest is not None
    return writer.manifest.ref


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--embedder", default=os.environ.get("DIALOGFORGE_EMBEDDER", "e5"))
    parser.add_argument("--sample", type=int, default=5_000)
    parser.add_argument("--map-sample", type=int, default=500)
    args = parser.parse_args()
    share_cores_politely()  # as dialogforge report does
    with tempfile.TemporaryDirectory() as folder:
        store = DatasetStore(Path(folder))
        setup = time.perf_counter()
        ref = make_version(store, args.rows)
        print(f"set-up: {args.rows} rows written in {time.perf_counter() - setup:.1f} s (not timed)")
        started = time.perf_counter()
        embedder = make_embedder(args.embedder)
        loaded = time.perf_counter() - started
        options = ReportOptions(text_sample=args.sample, map_sample=args.map_sample)
        report = build_reports(store, [ref], embedder=embedder, pack=resolve_style("bank-cs"), options=options)
        rendered = time.perf_counter()
        html, _ = write_report(report, Path(folder) / "report")
        render_s = time.perf_counter() - rendered
        total = time.perf_counter() - started
        size = html.stat().st_size
    phases = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in report.phases.items())
    print(f"embedder {embedder.name} loaded in {loaded:.1f} s; {phases}; plots + HTML {render_s:.1f} s")
    embedded = report.versions[0].map_sampled
    if report.phases.get("embed"):
        print(f"embedding: {embedded} texts at {embedded / report.phases['embed']:.0f} texts/s ({embedder.name})")
    print(f"total {total:.1f} s for {args.rows} rows ({args.rows / total:,.0f} rows/s); report.html {size:,} bytes")
    print(f"load average (1, 5, 15 min): {', '.join(f'{value:.2f}' for value in os.getloadavg())}")


if __name__ == "__main__":
    main()
