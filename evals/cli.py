"""The ``eval`` command group: ``dialogforge eval judges ...`` and ``dialogforge eval verdicts ...``.

The main CLI builds the app with :func:`make_eval_app` and an :class:`~evals.runtime.EvalRuntime`
made from the same settings as every other command (the judge role's endpoint and model, unless
``--base-url`` / ``--models`` say otherwise), so the harness itself reads no settings.
"""

from __future__ import annotations

import asyncio
import contextlib
import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from agents.checklist import questions_for
from agents.prompting import PromptError, judge_prompt, judge_prompt_names
from evals.cache import JudgementCache
from evals.cli_position import register_position
from evals.cli_reviews import register_reviews
from evals.cli_verdicts import register_verdicts
from evals.datasets import DatasetError, limit_labelled, limit_pairwise, load_labelled, load_pairwise
from evals.judges import DEFAULT_PERSONA, Judge, make_criterion
from evals.pipeline import Dataset, build_llm_judges, evaluate
from evals.report import markdown_table, notes, write_report
from evals.runtime import EndpointChoice, EvalRuntime

console = Console(stderr=True)


def prompts_for_criterion(names: list[str], criterion: str, *, explicit: bool) -> list[str]:
    """Keep the prompts that can judge the criterion: a checklist needs questions for it.

    Raises:
        PromptError: an explicitly named checklist has no questions for the criterion.
    """
    kept = []
    for name in names:
        checklist = judge_prompt(name, allow_path=True).checklist
        if checklist is not None and criterion not in checklist.criteria:
            if explicit:
                questions_for(checklist, criterion, name)
            continue
        kept.append(name)
    return kept


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def load_datasets(
    paths: list[Path],
    *,
    pairwise: bool,
    text: str,
    context: str | None,
    score: str | None,
    annotators: list[str],
    scale: str,
    limit: int | None,
    seed: int,
    pair_columns: tuple[str, str, str] = ("response_a", "response_b", "preference"),
) -> list[Dataset]:
    """Load and (stratified) limit every data file with the same column mapping."""
    found: list[Dataset] = []
    for path in paths:
        if pairwise:
            first, second, choice = pair_columns
            loaded_pairs = load_pairwise(path, text_a=first, text_b=second, preference=choice, context=context)
            found.append(limit_pairwise(loaded_pairs, limit, seed))
        else:
            loaded = load_labelled(path, text=text, context=context, score=score, annotators=annotators, scale=scale)
            found.append(limit_labelled(loaded, limit, seed))
    return found


def make_eval_app(runtime: EvalRuntime) -> typer.Typer:
    """Build the ``eval`` Typer app on a runtime that makes the judge models and embedders."""
    app = typer.Typer(help="Measure judge prompts against human labels.", no_args_is_help=True)

    @app.callback()
    def _group() -> None:
        """Measure judge prompts against human labels."""

    @app.command("judges")
    def judges_command(
        data: Annotated[list[Path] | None, typer.Option("--data", help="CSV/JSONL file; repeat for several.")] = None,
        reviews: Annotated[
            str | None, typer.Option(help="A reviewed version (name@N): its reviewers' labels (evals/reviews.py).")
        ] = None,
        label: Annotated[str, typer.Option(help="With --reviews: 'decision' or a rubric criterion.")] = "decision",
        text: Annotated[str, typer.Option(help="Column with the response.")] = "response",
        context: Annotated[str | None, typer.Option(help="Column with the user turn, if any.")] = None,
        score: Annotated[str | None, typer.Option(help="Column with the human label.")] = None,
        annotators: Annotated[str | None, typer.Option(help="Annotator columns, comma-separated.")] = None,
        scale: Annotated[str, typer.Option(help="Human scale, e.g. 0-2 or 1-5.")] = "0-2",
        pairwise: Annotated[
            bool, typer.Option(help="Pairwise set: response_a, response_b, preference (a|b|tie).")
        ] = False,
        text_a: Annotated[str, typer.Option(help="Pairwise: first response column.")] = "response_a",
        text_b: Annotated[str, typer.Option(help="Pairwise: second response column.")] = "response_b",
        preference: Annotated[str, typer.Option(help="Pairwise: a|b|tie column.")] = "preference",
        prompts: Annotated[str | None, typer.Option(help="Judge prompts (default: all); 'none'.")] = None,
        models: Annotated[str | None, typer.Option(help="Model names (default: the judge role's model).")] = None,
        criterion: Annotated[str, typer.Option(help="Rubric criterion to score.")] = "empathy",
        criterion_description: Annotated[str | None, typer.Option(help="Override its description.")] = None,
        persona: Annotated[str, typer.Option(help="Persona the judge prompt is rendered with.")] = DEFAULT_PERSONA,
        baseline: Annotated[bool, typer.Option(help="Include the rule-based baseline (seed 000).")] = True,
        embedder: Annotated[str, typer.Option(help="Embedder for the baseline.")] = "e5",
        limit: Annotated[int | None, typer.Option(help="Stratified sample of N items per file.")] = None,
        seed: Annotated[int, typer.Option(help="Sampling and bootstrap seed.")] = 0,
        concurrency: Annotated[int, typer.Option(help="Judge calls in flight.")] = 4,
        self_consistency: Annotated[
            int, typer.Option(help="Also judge with k draws (temperature 0.7) and their median: k calls an item.")
        ] = 1,
        bootstrap: Annotated[int, typer.Option(help="Bootstrap resamples (0: no intervals).")] = 1000,
        out: Annotated[Path, typer.Option(help="Output directory.")] = Path("eval-out"),
        cache: Annotated[Path | None, typer.Option(help="Cache DB (default OUT/judgements.sqlite).")] = None,
        base_url: Annotated[
            str | None, typer.Option(help="Another OpenAI-compatible endpoint (default: DIALOGFORGE_LLM_BASE_URL).")
        ] = None,
        api_key: Annotated[
            str | None, typer.Option(help="Its key (default: DIALOGFORGE_LLM_API_KEY, for that URL only).")
        ] = None,
        threads: Annotated[int | None, typer.Option(help="CPU threads of the embedded server.")] = None,
        data_dir: Annotated[
            Path, typer.Option(envvar="DIALOGFORGE_DATA_DIR", help="Where the reviews live (--reviews).")
        ] = Path("~/.dialogforge"),
    ) -> None:
        """Compare judge prompts (x models, + baseline) with human labels; write the leaderboard."""
        try:
            datasets = load_datasets(
                data or [], pairwise=pairwise, text=text, context=context, score=score,
                annotators=_split(annotators), scale=scale, limit=limit, seed=seed,
                pair_columns=(text_a, text_b, preference),
            )  # fmt: skip
            prompt_names = [] if prompts == "none" else (_split(prompts) or judge_prompt_names())
            for name in prompt_names:
                judge_prompt(name, allow_path=True)
            if reviews:
                from evals.reviews import reviewed_sets

                found, criterion, criterion_description = reviewed_sets(
                    data_dir.expanduser(), reviews, label, criterion, criterion_description
                )
                datasets += [limit_labelled(dataset, limit, seed) for dataset in found]
            if not datasets:
                raise DatasetError("give labelled data: --data FILE or --reviews NAME@N")
            rubric_entry = make_criterion(criterion, criterion_description)
            prompt_names = prompts_for_criterion(prompt_names, rubric_entry.name, explicit=bool(_split(prompts)))
        except (DatasetError, PromptError, ValueError) as exc:
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from None
        judges: list[Judge] = []
        if baseline:
            from evals.baseline import RuleBaselineJudge

            judges.append(RuleBaselineJudge(runtime.embedder(embedder)))
        chosen = runtime.judge_models(EndpointChoice(base_url, api_key, threads, concurrency))
        needs_llm = bool(prompt_names)
        with chosen(_split(models)) if needs_llm else contextlib.nullcontext({}) as chat_models:
            judges.extend(build_llm_judges(prompt_names, chat_models, persona, samples=self_consistency))
            with JudgementCache(cache or out / "judgements.sqlite") as store:
                outcome = asyncio.run(
                    evaluate(
                        datasets, judges, rubric_entry, store, concurrency=concurrency, bootstrap=bootstrap, seed=seed
                    )
                )
        command = (
            shlex.join(["dialogforge", "eval", *sys.argv[sys.argv.index("judges") :]]) if "judges" in sys.argv else ""
        )
        meta: dict[str, object] = {
            "command": command, "criterion": criterion, "limit": limit, "seed": seed,
            "cached": outcome.cached, "called": outcome.called, "errors": len(outcome.errors),
        }  # fmt: skip
        paths = write_report(outcome.rows, out, meta)
        print(markdown_table(outcome.rows))
        print("\n".join(notes(outcome.rows)))
        console.print(
            f"{outcome.called} judged, {outcome.cached} from cache, {len(outcome.errors)} failed calls; "
            f"wrote {', '.join(str(p) for p in paths.values())}"
        )
        if outcome.errors:
            console.print(f"[yellow]first failure:[/yellow] {outcome.errors[0]} (rerun to retry; cached work is kept)")

    register_verdicts(app, lambda: runtime.judge_models(EndpointChoice()))
    register_position(app, lambda: runtime.judge_models(EndpointChoice()))
    register_reviews(app)
    return app
