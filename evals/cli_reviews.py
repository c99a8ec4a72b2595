"""``dialogforge eval calibrate --reviews REF``: pass thresholds fitted to reviewers' decisions.

Registered on the eval app by :func:`register_reviews`. The judge's scores are the verdicts stored
on the reviewed rows (the judge prompt in force when they were made, named in the output); the
labels are the reviewers' final accept/reject (``graph.reviews``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from evals.calibrate import OBJECTIVES, Agreement, calibrate, write_calibrated_pack

console = Console(soft_wrap=True)
errors = Console(stderr=True)


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _row(table: Table, label: str, figures: Agreement) -> None:
    table.add_row(label, str(figures.items), str(figures.passed), _fmt(figures.precision), _fmt(figures.recall),
                  _fmt(figures.accuracy), _fmt(figures.balanced_accuracy))  # fmt: skip


def register_reviews(app: typer.Typer) -> None:
    """Add the ``calibrate`` command to the eval app."""

    @app.command("calibrate")
    def calibrate_command(
        reviews: Annotated[str, typer.Option(help="The reviewed version, e.g. bank-logs@3.")],
        style: Annotated[str | None, typer.Option(help="The pack to calibrate (default: the round's).")] = None,
        holdout: Annotated[float, typer.Option(help="Share of the items held out for the report.")] = 0.5,
        objective: Annotated[str, typer.Option(help=f"What the fit maximises: {', '.join(OBJECTIVES)}.")] = (
            "balanced_accuracy"
        ),
        seed: Annotated[int, typer.Option(help="Seed of the split.")] = 0,
        write: Annotated[
            Path | None, typer.Option(help="Write a copy of the pack with the new thresholds here.")
        ] = None,
        data_dir: Annotated[Path, typer.Option(envvar="DIALOGFORGE_DATA_DIR", help="Where the reviews live.")] = Path(
            "~/.dialogforge"
        ),
    ) -> None:
        """Fit per-criterion thresholds on reviewed items; report precision/recall on held-out ones."""
        from agents.styles import StylePackError, resolve_style
        from evals.reviews import reviewed_verdicts
        from graph.datasets.errors import DatasetError
        from graph.datasets.store import DatasetStore
        from graph.reviews.errors import ReviewError
        from graph.reviews.store import ReviewStore

        folder = data_dir.expanduser()
        try:
            ref = DatasetStore(folder).resolve(reviews).ref
            store = ReviewStore(folder)
            round_ = store.round(ref)
            pack = resolve_style(style or round_.style)
            items, prompts = reviewed_verdicts(store, ref)
            result = calibrate(items, pack.thresholds, holdout=holdout, objective=objective, seed=seed)
        except (ReviewError, DatasetError, StylePackError, ValueError) as error:
            errors.print(f"error: {error}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
        used = ", ".join(f"{name} ({count})" for name, count in prompts.items())
        console.print(f"[bold]{pack.name}[/bold] on {ref}: {len(items)} reviewed items with judge verdicts "
                      f"(judge prompt {used}); fit on {result.fit_items}, report on {result.test_items} held out",
                      highlight=False)  # fmt: skip
        thresholds = Table("criterion", "threshold before", "threshold after")
        for name in result.before:
            thresholds.add_row(name, str(result.before[name]), str(result.after[name]))
        console.print(thresholds)
        figures = Table("judge passes vs reviewer accepts", "items", "passed", "precision", "recall", "accuracy",
                        "balanced acc.")  # fmt: skip
        _row(figures, "held out, before", result.test_before)
        _row(figures, "held out, after", result.test_after)
        _row(figures, "fit part, before", result.fit_before)
        _row(figures, "fit part, after", result.fit_after)
        console.print(figures)
        if write is not None:
            copy = write_calibrated_pack(pack, result.after, write, f"{ref}, {objective}, {len(items)} items")
            console.print(f"wrote {write} (pack {copy.name}; use it with --style {write})", highlight=False)
