"""``dialogforge eval position``: the pairwise judge's position bias (flip rate when replies swap places)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from evals.datasets import DatasetError, load_labelled
from evals.judges import DEFAULT_PERSONA, make_criterion
from evals.position import pairs_from_labels, position_bias
from evals.runtime import ModelProvider

console = Console(stderr=True)


def register_position(app: typer.Typer, provider: Callable[[], ModelProvider]) -> None:
    """Add the ``position`` command to the eval app."""

    @app.command("position")
    def position_command(
        data: Annotated[Path, typer.Option("--data", help="A pointwise CSV/JSONL with human scores.")],
        score: Annotated[str, typer.Option(help="Column with the human label.")],
        text: Annotated[str, typer.Option(help="Column with the response.")] = "response",
        scale: Annotated[str, typer.Option(help="Human scale, e.g. 0-2.")] = "0-2",
        criterion: Annotated[str, typer.Option(help="Criterion to compare on.")] = "empathy",
        pairs: Annotated[int, typer.Option(help="Pairs of differently rated items (2 calls each).")] = 40,
        models: Annotated[str | None, typer.Option(help="Model names (default: the judge role's model).")] = None,
        seed: Annotated[int, typer.Option(help="Pairing seed.")] = 0,
    ) -> None:
        """Ask the pairwise judge about each pair in both orders; print the flip rate per model."""
        try:
            loaded = load_labelled(data, text=text, score=score, scale=scale)
            chosen = pairs_from_labels([i.text for i in loaded.items], [i.label for i in loaded.items], pairs, seed)
            entry = make_criterion(criterion)
        except (DatasetError, ValueError) as exc:
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from None
        names = [m.strip() for m in (models or "").split(",") if m.strip()]
        with provider()(names) as chat_models:
            for name, model in chat_models.items():
                report = asyncio.run(position_bias(model, chosen, entry, DEFAULT_PERSONA))
                print(
                    f"{loaded.name} {criterion} @ {name}: {report.pairs} pairs, flip rate {report.flip_rate:.2f} "
                    f"(kept the first place {report.favoured_first}, the second {report.favoured_second}, "
                    f"unreadable {report.unreadable})"
                )
