"""``dialogforge review``: assign a stratified sample to reviewers, follow the round, settle, apply.

The page itself is served by ``dialogforge serve`` at ``/review``. Bad input is one ``error:``
line and exit code 2.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from graph.datasets.errors import DatasetError
from graph.reviews.errors import ReviewError
from service.cli.errors import UsageError, one_line

review_app = typer.Typer(
    name="review",
    help="Review a version by hand in the web page (dialogforge serve, then /review).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console(soft_wrap=True)


KNOWN = (ReviewError, DatasetError)


def _stores():  # type: ignore[no-untyped-def]
    from graph.datasets.store import DatasetStore
    from graph.reviews.store import ReviewStore
    from service.settings import Settings

    settings = Settings()
    return settings, DatasetStore(settings.data_dir), ReviewStore(settings.data_dir)


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def _number(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


@review_app.command("assign")
def assign_command(
    ref: Annotated[str, typer.Argument(help="The version to review: name, name@3 or name@v1.1.")],
    reviewers: Annotated[str, typer.Option(help="Reviewer names, comma-separated (they log in with them).")],
    fraction: Annotated[float, typer.Option(help="Share of the rows to review (seed 001: 0.1).")] = 0.1,
    overlap: Annotated[float, typer.Option(help="Share of those items given to two reviewers.")] = 0.2,
    style: Annotated[
        str | None, typer.Option(help="Pack whose rubric reviewers score (default: the rows' style).")
    ] = None,
    strata: Annotated[
        str, typer.Option(help="Stratify by these: origin,style,band,cluster.")
    ] = "origin,style,band,cluster",
    seed: Annotated[int, typer.Option(help="Seed of the draw.")] = 0,
) -> None:
    """Draw a stratified sample of a version into the reviewers' queues."""
    from graph.reviews.rounds import start_round
    from service.cli.report import pack_for

    settings, datasets, reviews = _stores()
    with one_line(*KNOWN):
        manifest = datasets.resolve(ref)
        pack = pack_for([manifest], style)
        if pack is None:
            raise UsageError(
                "these rows name no known style pack; pass --style NAME (its rubric is what reviewers score)"
            )
        chosen = tuple(part.strip() for part in strata.split(",") if part.strip())
        embedder = None
        if "cluster" in chosen:
            from agents.embeddings import make_embedder

            embedder = make_embedder(settings.embedder, settings.embedding_endpoint())
        round_ = start_round(
            datasets, reviews, manifest.ref, fraction=fraction, reviewers=reviewers.split(","), overlap=overlap,
            criteria=pack.rubric, style=pack.name, embedder=embedder, strata=chosen, seed=seed,
        )  # fmt: skip
        queues = {name: len(reviews.queue(round_.ref, name)) for name in round_.reviewers}
    doubled = sum(queues.values()) - round_.items
    console.print(
        f"[bold]{round_.ref}[/bold]: {round_.items} items ({fraction:.0%} of {manifest.rows}, stratified by "
        f"{', '.join(chosen)}), {doubled} to two reviewers; rubric {', '.join(c.name for c in round_.criteria)}",
        highlight=False,
    )
    for name, count in queues.items():
        console.print(f"  {name}: {count} items", highlight=False)
    console.print("Reviewers open /review on 'dialogforge serve' and log in with their name.", highlight=False)


@review_app.command("status")
def status_command(
    ref: Annotated[str, typer.Argument(help="The reviewed version.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the status as JSON.")] = False,
    max_score_gap: Annotated[int, typer.Option(help="Scores further apart than this are a disagreement.")] = 1,
) -> None:
    """Show progress, agreement per criterion, disagreements and seed 001's targets."""
    from graph.reviews.status import review_status, status_dict

    _, datasets, reviews = _stores()
    with one_line(*KNOWN):
        status = review_status(reviews, datasets.resolve(ref).ref, max_score_gap)
    if as_json:
        print(json.dumps(status_dict(status), ensure_ascii=False, indent=2, default=str))
        return
    console.print(f"[bold]{status.round.ref}[/bold]: {status.round.items} items", highlight=False)
    for name, (done, total) in status.progress.items():
        console.print(f"  {name}: {done} / {total} decided", highlight=False)
    table = Table("agreement", "items", "percent", "Cohen's kappa", "quadratic kappa")
    for item in status.agreement:
        table.add_row(item.name, str(item.items), _percent(item.percent), _number(item.kappa),
                      _number(item.weighted_kappa))  # fmt: skip
    console.print(table)
    for target in status.targets:
        mark = "?" if target.met is None else "✓" if target.met else "✗"
        note = f" ({target.note})" if target.note else ""
        console.print(f"  {mark} {target.name} {_percent(target.value)} (target {target.goal}){note}", highlight=False)
    unsettled = [d for d in status.disagreements if d.settled_by is None]
    if status.disagreements:
        console.print(f"disagreements: {len(status.disagreements)} ({len(unsettled)} unsettled)", highlight=False)
        for open_item in unsettled[:10]:
            what = ", ".join(f"{name} {decision}" for name, decision in open_item.decisions.items())
            scores = f"; scores apart on {', '.join(open_item.criteria)}" if open_item.criteria else ""
            console.print(f"  {open_item.sample_id}: {what}{scores}", highlight=False)
        if unsettled:
            console.print(f"settle them: dialogforge review settle {status.round.ref} --reviewer NAME", highlight=False)
    outcome = status.outcome
    console.print(
        f"final: {outcome['accept']} accepted ({outcome['edited']} edited), {outcome['reject']} rejected, "
        f"{outcome['unsettled']} unsettled",
        highlight=False,
    )


@review_app.command("settle")
def settle_command(
    ref: Annotated[str, typer.Argument(help="The reviewed version.")],
    reviewer: Annotated[str, typer.Option(help="The third reviewer who decides the disagreements.")],
    max_score_gap: Annotated[int, typer.Option(help="Scores further apart than this are a disagreement.")] = 1,
) -> None:
    """Queue the items two reviewers disagree on for a third reviewer."""
    from graph.reviews.rounds import settle

    _, datasets, reviews = _stores()
    with one_line(*KNOWN):
        added = settle(reviews, datasets.resolve(ref).ref, reviewer, max_score_gap)
    console.print(f"queued {len(added)} disagreements for {reviewer}", highlight=False)


@review_app.command("apply")
def apply_command(
    ref: Annotated[str, typer.Argument(help="The reviewed version.")],
    into: Annotated[str, typer.Option(help="The data set that gets the new version (e.g. the same name).")],
    unsettled: Annotated[str, typer.Option(help="Unsettled disagreements: fail | keep | drop.")] = "fail",
    tag: Annotated[str | None, typer.Option(help="Tag the new version, e.g. v1.2.")] = None,
) -> None:
    """Write a new version: rejected rows removed, edited turns applied, the rest kept."""
    from graph.reviews.apply import apply_review

    if unsettled not in ("fail", "keep", "drop"):
        raise UsageError(f"--unsettled must be fail, keep or drop, got {unsettled!r}")
    _, datasets, reviews = _stores()
    with one_line(*KNOWN):
        manifest = apply_review(datasets, reviews, ref, into, unsettled=unsettled, tag=tag)  # type: ignore[arg-type]
    params = manifest.params
    console.print(
        f"[bold]{manifest.ref}[/bold]: {manifest.rows} rows from {params['round']} "
        f"({params['rejected']} rejected rows removed, {params['edited']} edited)",
        highlight=False,
    )
