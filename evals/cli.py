"""The ``eval`` command group: ``dialogforge eval judges ...`` (or ``python -m evals.cli judges ...``).

The main CLI mounts :data:`eval_app`, or builds its own with :func:`make_eval_app` and a
:data:`ModelProvider` that yields chat models built from its settings. Standalone, the default
provider starts the embedded llama.cpp server (or talks to ``--base-url``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shlex
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Annotated

import typer
from langchain_core.language_models import BaseChatModel
from rich.console import Console

from agents.prompting import PromptError, judge_prompt, judge_prompt_names
from agents.remote_embeddings import EmbeddingEndpoint
from evals.cache import JudgementCache
from evals.cli_reviews import register_reviews
from evals.datasets import DatasetError, limit_labelled, limit_pairwise, load_labelled, load_pairwise
from evals.judges import DEFAULT_PERSONA, Judge, make_criterion
from evals.pipeline import Dataset, build_llm_judges, evaluate
from evals.report import markdown_table, write_report

ModelProvider = Callable[[list[str]], AbstractContextManager[dict[str, BaseChatModel]]]
"""Given the requested model names (empty = the default judge model), yield ``{name: model}``."""

console = Console(stderr=True)


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def embedding_endpoint(base_url: str | None, api_key: str | None) -> EmbeddingEndpoint:
    """Where an ``openai:`` baseline embedder is served: DIALOGFORGE_EMBEDDINGS_*, else the judge's endpoint."""
    own = (os.environ.get("DIALOGFORGE_EMBEDDINGS_BASE_URL"), os.environ.get("DIALOGFORGE_EMBEDDINGS_API_KEY"))
    return EmbeddingEndpoint.choose(own, (base_url, api_key))


def endpoint_provider(
    base_url: str | None, api_key: str | None, data_dir: Path, parallel: int, threads: int | None = None
) -> ModelProvider:
    """Return the standalone provider: an OpenAI-compatible endpoint, or the embedded server."""

    @contextlib.contextmanager
    def provide(names: list[str]) -> Iterator[dict[str, BaseChatModel]]:
        from agents.llm import LLMConfig, build_role_models, chat_openai

        if base_url:
            if not names:
                raise typer.BadParameter("--models is required with --base-url", param_hint="--models")
            config = LLMConfig(base_url=base_url, api_key=api_key)
            yield {name: chat_openai(config, base_url, name) for name in names}
            return
        from agents.local_llm import EmbeddedLLMServer, resolve_model_path

        local = os.environ.get("DIALOGFORGE_LOCAL_GGUF")
        path = resolve_model_path(data_dir, Path(local) if local else None)
        with EmbeddedLLMServer(path, n_parallel=parallel, n_threads=threads) as server:
            # a long timeout: on a busy 2-core machine a queued call can take minutes, and a retry
            # after a client timeout would only redo the same work
            config = LLMConfig(max_concurrency=parallel, timeout_s=900.0, max_retries=2)
            models = build_role_models(config, server.base_url)
            yield {path.stem: models.judge}

    return provide


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


def make_eval_app(provider: ModelProvider | None = None) -> typer.Typer:
    """Build the ``eval`` Typer app; ``provider`` overrides how chat models are made."""
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
        models: Annotated[str | None, typer.Option(help="Model names (default: the embedded model).")] = None,
        criterion: Annotated[str, typer.Option(help="Rubric criterion to score.")] = "empathy",
        criterion_description: Annotated[str | None, typer.Option(help="Override its description.")] = None,
        persona: Annotated[str, typer.Option(help="Persona the judge prompt is rendered with.")] = DEFAULT_PERSONA,
        baseline: Annotated[bool, typer.Option(help="Include the rule-based baseline (seed 000).")] = True,
        embedder: Annotated[str, typer.Option(help="Embedder for the baseline.")] = "e5",
        limit: Annotated[int | None, typer.Option(help="Stratified sample of N items per file.")] = None,
        seed: Annotated[int, typer.Option(help="Sampling and bootstrap seed.")] = 0,
        concurrency: Annotated[int, typer.Option(help="Judge calls in flight.")] = 4,
        bootstrap: Annotated[int, typer.Option(help="Bootstrap resamples (0: no intervals).")] = 1000,
        out: Annotated[Path, typer.Option(help="Output directory.")] = Path("eval-out"),
        cache: Annotated[Path | None, typer.Option(help="Cache DB (default OUT/judgements.sqlite).")] = None,
        base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible endpoint (standalone).")] = None,
        api_key: Annotated[str | None, typer.Option(envvar="DIALOGFORGE_API_KEY", show_default=False)] = None,
        threads: Annotated[int | None, typer.Option(help="CPU threads of the embedded server.")] = None,
        data_dir: Annotated[
            Path, typer.Option(envvar="DIALOGFORGE_DATA_DIR", help="Where the embedded model lives.")
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
        except (DatasetError, PromptError, ValueError) as exc:
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from None
        judges: list[Judge] = []
        if baseline:
            from agents.embeddings import make_embedder
            from evals.baseline import RuleBaselineJudge

            judges.append(RuleBaselineJudge(make_embedder(embedder, embedding_endpoint(base_url, api_key))))
        chosen = provider or endpoint_provider(base_url, api_key, data_dir.expanduser(), concurrency, threads)
        needs_llm = bool(prompt_names)
        with chosen(_split(models)) if needs_llm else contextlib.nullcontext({}) as chat_models:
            judges.extend(build_llm_judges(prompt_names, chat_models, persona))
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
        console.print(
            f"{outcome.called} judged, {outcome.cached} from cache, {len(outcome.errors)} failed calls; "
            f"wrote {', '.join(str(p) for p in paths.values())}"
        )
        if outcome.errors:
            console.print(f"[yellow]first failure:[/yellow] {outcome.errors[0]} (rerun to retry; cached work is kept)")

    register_reviews(app)
    return app


eval_app = make_eval_app()

if __name__ == "__main__":
    eval_app()
