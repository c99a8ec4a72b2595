"""``dialogforge augment REF --ops paraphrase,... --into NAME``: grow a data set through the judge loop.

Every parent of the version goes through each operator (``--per-sample`` children per operator),
each child through the target pack's checks, the operator's checks, the judge and the rewriter;
the accepted children become a new version of ``--into`` (with the parents too when ``--into``
is the source's own data set, unless ``--children-only``), written by the data-set store's
atomic writer with lineage. Everything that can be checked without a model is checked first:
bad input is one line and exit 2.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from service.cli.errors import UsageError

if TYPE_CHECKING:  # the command imports its modules when it runs: `dialogforge --help` stays fast
    from agents.augment.registry import OperatorSpec
    from agents.schemas import Sample
    from agents.styles import StylePack
    from graph.augment.runner import AugmentReport
    from graph.datasets.manifest import Manifest
    from graph.datasets.store import DatasetStore

EXIT_NOTHING_ACCEPTED = 3
PEEK_ROWS = 200
err = Console(stderr=True)
out = Console(highlight=False)


class _NothingAccepted(Exception):
    """Raised inside the writer's block so that no version is written."""


@dataclass
class AugmentRequest:
    """A validated ``augment`` request."""

    source: Manifest
    into: str
    specs: list[OperatorSpec]
    pack: StylePack
    per_sample: int
    concurrency: int
    max_rewrites: int
    max_parents: int | None
    with_parents: bool

    def params(self) -> dict[str, Any]:
        """Return what the new version's manifest records as the operation's parameters."""
        return {
            "ops": [spec.model_dump(mode="json") for spec in self.specs],
            "style": self.pack.name,
            "per_sample": self.per_sample,
            "max_rewrites": self.max_rewrites,
            "max_parents": self.max_parents,
            "with_parents": self.with_parents,
        }


def validate(
    store: DatasetStore, ref: str, into: str, specs: list[OperatorSpec], style: str | None, **bounds: Any
) -> AugmentRequest:
    """Resolve the version, the target pack and the operators; refuse a version no operator can take.

    Raises:
        UsageError: Anything wrong with the request, in one line.
    """
    from agents.augment.registry import get_operator
    from graph.datasets.errors import DatasetError
    from graph.datasets.refs import check_name
    from service.cli.report import pack_for

    try:
        source = store.resolve(ref)
        check_name(into)
        pack = pack_for([source], style)
    except DatasetError as error:
        raise UsageError(str(error)) from None
    needing = [spec.op for spec in specs if get_operator(spec.op).needs_style]
    if needing and not style:
        raise UsageError(f"{', '.join(needing)} writes in a target style: give --style NAME")
    if pack is None:
        raise UsageError(f"{source.ref} names no known style pack: give --style NAME (dialogforge styles)")
    peek = _peek(store, source.ref)
    if peek:
        refusals = [(spec.op, get_operator(spec.op).refuse(parent, spec, pack)) for parent in peek for spec in specs]
        if all(reason is not None for _, reason in refusals):
            op, reason = refusals[0]
            raise UsageError(f"{op} cannot take the rows of {source.ref}: row {peek[0].id} {reason}")
    with_parents = bounds.pop("with_parents")
    if with_parents is None:
        with_parents = into == source.name
    return AugmentRequest(source, into, specs, pack, with_parents=with_parents, **bounds)


def _peek(store: DatasetStore, ref: str) -> list[Sample]:
    """Return the first rows of a version (to refuse a version no operator can take, before any call)."""
    for batch in store.iter_samples(ref, batch_size=PEEK_ROWS):
        return batch
    return []


def _parents(store: DatasetStore, request: AugmentRequest, writer: Any) -> Iterator[list[Sample]]:
    """Yield the version's rows in batches (at most ``max_parents``), writing them too when they are kept."""
    left = request.max_parents
    for batch in store.iter_samples(request.source.ref, batch_size=500):
        if left is not None:
            batch, left = batch[:left], left - min(left, len(batch))
        if not batch:
            return
        if request.with_parents:
            writer.add(batch)
        yield batch


def run_augment(request: AugmentRequest, store: DatasetStore, settings: Any) -> int:
    """Start the models, run the operators over the version and write the new version; return the exit code."""
    from agents.augment.registry import get_operator
    from agents.judge import JudgeOptions
    from agents.judge_plan import JudgePlan, plan_for
    from agents.llm import check_reachable
    from graph.augment.loop import AugmentDeps
    from graph.augment.runner import AugmentRunner
    from service.engine import Engine

    engine = Engine.start(settings, notify=lambda message: err.print(f"[dim]{message}[/dim]"))
    try:
        if settings.llm_base_url and not engine.is_embedded:
            asyncio.run(check_reachable(engine.base_url, settings.llm_config().api_key, timeout=10))
        plans: dict[str, JudgePlan] = {
            spec.op: plan_for(
                get_operator(spec.op).criteria(request.pack, spec), options=JudgeOptions(scoring=engine.scoring)
            )
            for spec in request.specs
        }
        deps = AugmentDeps(engine.models, engine.embedder, plans, max_rewrites=request.max_rewrites)
        runner = AugmentRunner(
            deps, request.pack, request.specs, per_sample=request.per_sample, concurrency=request.concurrency,
            parent_version=request.source.ref,
        )  # fmt: skip
        try:
            with store.new_version(
                request.into, operation="augment", params=request.params(), parents=[request.source.ref]
            ) as writer:
                report = asyncio.run(runner.run(_parents(store, request, writer), lambda child: writer.add([child])))
                for reason, count in report.refused.items():
                    writer.drop(f"refused {reason}", count)
                for code, count in report.rejected.items():
                    writer.drop(f"rejected {code}", count)
                if not report.children:
                    raise _NothingAccepted
        except _NothingAccepted:
            _summary(runner.report)
            err.print("no child was accepted: no version written")
            return EXIT_NOTHING_ACCEPTED
        _summary(report)
        manifest = writer.manifest
        out.print(f"wrote {manifest.ref}: {manifest.rows} rows ({report.children} new)")
        return 0
    finally:
        engine.stop()


def _counts(counter: dict[str, int]) -> str:
    return ", ".join(f"{name} {count}" for name, count in sorted(counter.items(), key=lambda kv: -kv[1])) or "none"


def _summary(report: AugmentReport) -> None:
    """Print the run's figures: children per operator, rejections by reason, calls and tokens."""
    calls = sum(usage.calls for usage in report.tokens.values())
    tokens = sum(usage.total for usage in report.tokens.values())
    per_child = f", {calls / report.children:.1f} calls per accepted child" if report.children else ""
    out.print(f"parents {report.parents}; accepted {report.children} ({_counts(report.accepted)})")
    out.print(f"rejected {sum(report.rejected.values())} ({_counts(report.rejected)}); rewrites {report.rewrites}")
    if report.refused:
        out.print(f"refused parents: {_counts(report.refused)}")
    out.print(f"calls {calls}, tokens {tokens}{per_child}")


def augment_command(
    ref: Annotated[str, typer.Argument(help="The version to augment: name, name@3 or name@v1.1.")],
    ops: Annotated[str, typer.Option("--ops", "--op", help="Operators, comma-separated (paraphrase,extend).")],
    into: Annotated[str, typer.Option(help="Data set to write the new version of.")],
    per_sample: Annotated[int, typer.Option(help="Children per parent and operator.", min=1, max=10)] = 1,
    style: Annotated[str | None, typer.Option(help="Target style pack (default: the version's style).")] = None,
    via: Annotated[str | None, typer.Option(help="backtranslate: pivot languages, e.g. en or en,ja.")] = None,
    scenes: Annotated[str | None, typer.Option(help="scene-transfer: scenes, e.g. 餐厅,书店.")] = None,
    turns: Annotated[int | None, typer.Option(help="extend / qa-to-dialogue: exchanges in all.")] = None,
    focus: Annotated[str | None, typer.Option(help="hard-cases: the boundary to probe.")] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="OPERATOR.FIELD=VALUE, e.g. paraphrase.max_overlap=0.4.")
    ] = None,
    concurrency: Annotated[int, typer.Option(help="Parents in flight at once.", min=1, max=256)] = 4,
    max_rewrites: Annotated[int, typer.Option(help="Rewrites per child before it is rejected.", min=0, max=10)] = 2,
    max_parents: Annotated[int | None, typer.Option(help="Augment only the first N rows.", min=1)] = None,
    with_parents: Annotated[
        bool | None,
        typer.Option(
            "--with-parents/--children-only",
            help="Keep the parents in the new version (default: when --into is the source's data set).",
        ),
    ] = None,
) -> None:
    """Augment a data set version through the judge loop and write the accepted children as a new version."""
    from agents.augment.registry import OperatorError, parse_ops
    from graph.datasets.store import DatasetStore
    from service.settings import Settings

    settings = Settings()
    store = DatasetStore(settings.data_dir)
    shorthands = {
        "via": [part.strip() for part in via.split(",")] if via else None,
        "scenes": [part.strip() for part in scenes.split(",") if part.strip()] if scenes else None,
        "turns": turns,
        "focus": focus,
    }
    try:
        specs = parse_ops(ops, shorthands, set_)
    except OperatorError as error:
        raise UsageError(str(error)) from None
    request = validate(
        store, ref, into, specs, style, per_sample=per_sample, concurrency=concurrency, max_rewrites=max_rewrites,
        max_parents=max_parents, with_parents=with_parents,
    )  # fmt: skip
    raise typer.Exit(run_augment(request, store, settings))
