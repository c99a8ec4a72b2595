"""Augmentation on the embedded model, operator by operator: what is accepted, at what cost, and what it reads like.

The parents are ``evals/sets/augment-parents.jsonl`` (zh and en in turn: one user turn and one
reply each, bank and shop customer service and companionship; ``--parents-file
evals/sets/augment-scenes.jsonl`` for scene-bound coffee-shop dialogues), imported into a fresh
data directory. Every operator of ``--ops`` runs over the first ``--parents`` of them through the
same child loop as ``dialogforge augment`` (service.jobs.kinds.augment_run.augment_deps: the
engine's embedded model and e5 embedder, the judge plan of the target pack). Printed per
operator: children accepted per parent, LLM calls per accepted child, rejections by reason,
rewrites and wall time; then ``--show`` parent/child pairs to read. Every child (accepted or
not) is written to ``--out``/``OP.jsonl``. For ``style-transfer`` (target ``--target-style``)
the diversity of the accepted children is printed beside their parents' (distinct-2 and mean
pairwise embedding distance, graph/diversity.py).

Run: ``python -m benchmarks.augment_embedded --parents 20 [--ops paraphrase,style-transfer]``.
Slow on 2 cores (several seconds a call); nothing is downloaded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from pathlib import Path

from agents.augment.registry import SHORTHANDS, OperatorSpec, operator_names, parse_ops
from agents.rendering import format_dialogue
from agents.schemas import Sample
from agents.styles import StylePack, resolve_style
from graph.augment.runner import AugmentReport, AugmentRunner
from graph.augment.source import RowSource
from graph.datasets.importer import import_sources
from graph.datasets.store import DatasetStore
from graph.diversity import distinct_n, mean_pairwise_distance
from service.engine import Engine
from service.jobs.kinds.augment_run import augment_deps
from service.settings import Settings

SETS = Path(__file__).resolve().parent.parent / "evals" / "sets"
PARENTS = SETS / "augment-parents.jsonl"
SHORTHAND_VALUES = {"scenes": ["餐厅 restaurant", "书店 bookshop", "医院 hospital"], "turns": 3, "via": ["en", "zh"]}


def operator_spec(op: str) -> OperatorSpec:
    """Return the operator with the shorthand parameters it takes (zh rows go through en, en rows through zh)."""
    return parse_ops(op, {name: value for name, value in SHORTHAND_VALUES.items() if op in SHORTHANDS[name][0]})[0]


async def run_operator(engine: Engine, store: DatasetStore, ref: str, pack: StylePack, spec: OperatorSpec,
                       args: argparse.Namespace) -> tuple[AugmentReport, list[Sample], float]:  # fmt: skip
    """Run one operator over the parents; return its report, every finished child and the wall time."""
    runner = AugmentRunner(
        augment_deps(engine, pack, [spec]), pack, [spec], per_sample=args.per_sample, concurrency=args.concurrency,
        parent_version=ref,
    )  # fmt: skip
    children: list[Sample] = []

    async def keep(child: Sample) -> None:
        children.append(child)

    started = time.perf_counter()
    report = await runner.run(RowSource.of_version(store, ref, max_parents=args.parents), keep)
    return report, children, time.perf_counter() - started


def print_operator(op: str, report: AugmentReport, children: list[Sample], parents: dict[str, Sample],
                   wall: float, show: int) -> None:  # fmt: skip
    """Print the operator's figures and ``show`` accepted parent/child pairs."""
    accepted = [child for child in children if child.status == "accepted"]
    calls = sum(usage.calls for usage in report.tokens.values())
    per_child = f"{calls / len(accepted):.2f}" if accepted else "-"
    per_parent = len(accepted) / max(report.parents, 1)
    print(
        f"\n== {op}: accepted {len(accepted)} children of {report.parents} parents ({per_parent:.2f} a parent), "
        f"LLM calls {calls} ({per_child} per accepted child), rewrites {report.rewrites}, "
        f"rejected {dict(report.rejected) or 0}, refused {dict(report.refused) or 0}, wall {wall:.0f} s",
        flush=True,
    )
    for child in accepted[:show]:
        parent = parents[child.lineage.parent_id or ""]
        print(f"-- parent {parent.id}:\n{format_dialogue(parent.turns)}\n-- child:\n{format_dialogue(child.turns)}")


def print_diversity(engine: Engine, children: list[Sample], parents: dict[str, Sample]) -> None:
    """Print distinct-2 and the mean pairwise distance of the accepted children and of their parents."""
    kept = [child for child in children if child.status == "accepted"]
    if len(kept) < 2:
        print("diversity: fewer than 2 accepted children")
        return
    own = [parents[child.lineage.parent_id or ""] for child in kept]
    for label, samples in (("children", kept), ("their parents", own)):
        texts = ["\n".join(turn.content for turn in sample.turns) for sample in samples]
        vectors = engine.embedder.embed(texts)
        print(f"diversity of {len(samples)} {label}: distinct-2 {distinct_n(texts, 2):.3f}, "
              f"mean pairwise distance {mean_pairwise_distance(vectors):.3f}")  # fmt: skip


def main() -> None:
    """Import the parents, run every operator, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", default=",".join(operator_names()))
    parser.add_argument("--parents", type=int, default=20)
    parser.add_argument("--per-sample", type=int, default=1, help="children per parent and operator")
    parser.add_argument("--parents-file", type=Path, default=PARENTS, help=f"e.g. {SETS / 'augment-scenes.jsonl'}")
    parser.add_argument("--concurrency", type=int, default=2, help="LLM calls in flight (the embedded server's slots)")
    parser.add_argument(
        "--style", default="empathetic-cs", help="the parents' pack (every operator but style-transfer)"
    )
    parser.add_argument("--target-style", default="gentle", help="style-transfer's target pack")
    parser.add_argument("--show", type=int, default=10)
    parser.add_argument("--out", type=Path, default=Path(".data") / "augment-embedded")
    args = parser.parse_args()

    args.out.mkdir(parents=True, exist_ok=True)
    settings = Settings(data_dir=args.out / "data", cache=False)  # the embedded defaults: no key, no network
    store = DatasetStore(settings.data_dir)
    ref = import_sources(store, "augment-parents", [str(args.parents_file)]).manifest.ref
    parents = {sample.id: sample for page in store.iter_samples(ref) for sample in page}
    engine = Engine.start(settings)
    try:
        for op in [name.strip() for name in args.ops.split(",") if name.strip()]:
            spec = operator_spec(op)
            pack = resolve_style(args.target_style if op == "style-transfer" else args.style)
            report, children, wall = asyncio.run(run_operator(engine, store, ref, pack, spec, args))
            with (args.out / f"{op}.jsonl").open("w", encoding="utf-8") as out:
                for child in children:
                    out.write(json.dumps(child.model_dump(mode="json"), ensure_ascii=False) + "\n")
            print_operator(op, report, children, parents, wall, args.show)
            if op == "style-transfer":
                print_diversity(engine, children, parents)
    finally:
        engine.stop()


if __name__ == "__main__":
    main()
