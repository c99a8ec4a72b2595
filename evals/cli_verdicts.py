"""``dialogforge eval verdicts``: the judge on whole labelled samples (does it reject what it must?)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Annotated

import typer
from langchain_core.language_models import BaseChatModel
from rich.console import Console

from agents.judge_plan import plan_for
from agents.prompting import PromptError
from agents.styles import StylePackError, resolve_style
from evals.cache import JudgementCache
from evals.datasets import DatasetError
from evals.verdicts import load_verdict_set, markdown, run_verdicts, summary_rows, write_verdicts

ModelProvider = Callable[[list[str]], AbstractContextManager[dict[str, BaseChatModel]]]
console = Console(stderr=True)


def register_verdicts(app: typer.Typer, provider: Callable[[], ModelProvider]) -> None:
    """Add the ``verdicts`` command to the eval app; ``provider()`` gives the model provider at run time."""

    @app.command("verdicts")
    def verdicts_command(
        data: Annotated[
            Path, typer.Option("--data", help="JSONL/CSV: id, style, language, label, kind, user, assistant.")
        ],
        prompts: Annotated[
            str | None,
            typer.Option(help="Judge prompts, comma-separated (default: the engine's per-criterion default)."),
        ] = None,
        models: Annotated[str | None, typer.Option(help="Model names (default: the judge role's model).")] = None,
        criteria: Annotated[
            str | None, typer.Option(help="Judge only these criteria of each pack's rubric, comma-separated.")
        ] = None,
        concurrency: Annotated[int, typer.Option(help="Judge calls in flight.")] = 4,
        out: Annotated[Path, typer.Option(help="Output directory.")] = Path("eval-out/verdicts"),
        cache: Annotated[Path | None, typer.Option(help="Cache DB (default OUT/judgements.sqlite).")] = None,
    ) -> None:
        """Judge labelled whole samples with their pack's rubric; report failures rejected and good passed."""
        try:
            items = load_verdict_set(data)
            styles = sorted({item.style for item in items})
            names: list[str | None] = [p.strip() for p in (prompts or "").split(",") if p.strip()] or [None]
            chosen = {c.strip() for c in criteria.split(",") if c.strip()} if criteria else None
            known = {c.name for s in styles for c in resolve_style(s).rubric}
            if chosen is not None and not chosen <= known:
                raise ValueError(
                    f"--criteria: {', '.join(sorted(chosen - known))} not in the rubrics ({', '.join(sorted(known))})"
                )
            rubrics = {s: [c for c in resolve_style(s).rubric if chosen is None or c.name in chosen] for s in styles}
            plans = {name: {s: plan_for(rubrics[s], name) for s in styles} for name in names}
        except (DatasetError, PromptError, StylePackError, ValueError) as exc:
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from None
        model_names = [m.strip() for m in (models or "").split(",") if m.strip()]
        sections = []
        with provider()(model_names) as chat_models, JudgementCache(cache or out / "judgements.sqlite") as store:
            for model_name, chat_model in chat_models.items():
                for prompt_name, plan in plans.items():
                    results = asyncio.run(
                        run_verdicts(
                            items, chat_model, model_name, plan, store, concurrency=concurrency, criteria=chosen
                        )
                    )
                    label = f"{prompt_name or 'default plan'} @ {model_name}"
                    directory = out / (f"{prompt_name or 'default'}-{model_name}".replace("/", "_"))
                    write_verdicts(
                        results, directory, label, {"data": str(data), "prompt": prompt_name, "criteria": criteria}
                    )
                    sections.append(markdown(results, label))
                    totals = summary_rows(results)[-1]
                    console.print(
                        f"{label}: rejected {totals['failures_rejected']}/{totals['failures']} failures, "
                        f"passed {totals['good_passed']}/{totals['good']} good; wrote {directory}"
                    )
        print("\n\n".join(sections))
