"""The ``dialogforge`` command line: styles, generate, datasets, clean, serve and eval."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from agents.prompting import DEFAULT_JUDGE_PROMPT
from agents.styles import StylePackError, builtin_styles
from service.cli.augment import augment_command
from service.cli.cache import cache_app
from service.cli.clean import clean
from service.cli.datasets import DatasetCliError, datasets_app
from service.cli.knowledge import knowledge_app
from service.cli.placement import ExecutorOption, RayAddressOption, check_placement
from service.cli.report import report_command
from service.cli.review import review_app
from service.cli.serve import serve

app = typer.Typer(
    name="dialogforge",
    help="Make fine-tuning data sets from a style pack: generate, check, judge, rewrite, export.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()


class CliError(Exception):
    """An error to show as one line, with the exit code to use."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


@app.command()
def styles() -> None:
    """List the shipped style packs with a one-line description."""
    for name, pack in sorted(builtin_styles().items()):
        aliases = f" ({', '.join(pack.aliases)})" if pack.aliases else ""
        console.print(f"[bold]{name}[/bold]{aliases}: {pack.description}", highlight=False)


@app.command()
def generate(
    style: Annotated[
        str | None, typer.Option("--style", "-s", help="Style pack name, alias (温柔) or .yaml path.")
    ] = None,
    n: Annotated[int, typer.Option("-n", help="How many accepted samples to make.")] = 20,
    fmt: Annotated[str, typer.Option("--format", "-f", help="alpaca | sharegpt | openai | raw")] = "sharegpt",
    output: Annotated[Path, typer.Option("--output", "-o", help="JSONL file to write.")] = Path("out/data.jsonl"),
    report: Annotated[Path | None, typer.Option("--report", help="Directory for report.json and report.md.")] = None,
    concurrency: Annotated[
        int | None, typer.Option(help="LLM calls in flight (default 4; with --batch: samples batched, up to 1000).")
    ] = None,
    workspace: Annotated[str, typer.Option(help="Memory namespace: jobs in one workspace avoid each other.")] = (
        "default"
    ),
    seed: Annotated[int | None, typer.Option(help="Seed for topic tie-breaking.")] = None,
    max_rewrites: Annotated[int, typer.Option(help="Rewrites per sample before it is rejected.")] = 2,
    turns: Annotated[
        int | None, typer.Option(help="Exchanges per sample, 1-6 (default: the style pack's turns, else 1).")
    ] = None,
    max_attempts: Annotated[int | None, typer.Option(help="Samples to start at most (default 4 x n).")] = None,
    max_tokens: Annotated[int | None, typer.Option(help="Token budget for the whole job.")] = None,
    deadline: Annotated[float | None, typer.Option(help="Stop starting samples after this many seconds.")] = None,
    judge: Annotated[str, typer.Option(help="Judge prompt in prompts/judge (or a .md path).")] = DEFAULT_JUDGE_PROMPT,
    rpm: Annotated[float | None, typer.Option(min=1, help="The provider's requests-per-minute limit.")] = None,
    tpm: Annotated[float | None, typer.Option(min=1, help="The provider's tokens-per-minute limit.")] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="Neither read nor write the call cache.")] = False,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue the last job run with these same arguments, if any.")
    ] = False,
    job: Annotated[
        str | None, typer.Option("--job", help="Continue this stored job (its own arguments; -o/-f/--report apply).")
    ] = None,
    into: Annotated[
        str | None, typer.Option("--into", help="Also keep the accepted samples as a new version of this data set.")
    ] = None,
    knowledge: Annotated[
        str | None, typer.Option(help="Ground the samples in a knowledge file, folder or indexed set's name.")
    ] = None,
    batch: Annotated[
        bool, typer.Option("--batch", help="Send generate/judge/rewrite calls through the OpenAI Batch API.")
    ] = False,
    batch_deadline: Annotated[
        float | None, typer.Option(min=1, help="With --batch: seconds before an unfinished batch's calls go live.")
    ] = None,
    executor: ExecutorOption = "local",
    ray_address: RayAddressOption = None,
) -> None:
    """Generate N accepted samples in a style and export them (kept in the data directory as they finish)."""
    # Imported here so that `dialogforge styles` or `--help` do not load LangGraph, Chroma and scipy.
    from pydantic import ValidationError

    from service.cli.errors import UsageError, describe_invalid
    from service.cli.generate import GenerateCommand, check_outputs, check_request, run_generate
    from service.jobs.kinds.generate import MAX_BATCH_CONCURRENCY, GenerateJobRequest
    from service.settings import Settings

    try:
        check_placement(executor, ray_address)
        outputs = check_outputs(fmt, output, report)
        if job is not None:
            command = GenerateCommand(outputs, job_id=job)
        elif style is None:
            raise UsageError("give --style (a pack name, alias or .yaml file), or --job ID to continue a stored job")
        else:
            concurrency = (min(n, MAX_BATCH_CONCURRENCY) if batch else 4) if concurrency is None else concurrency
            pack = check_request(style, n, concurrency, max_rewrites, judge, batch=batch)
            request = GenerateJobRequest(
                style=pack.name,
                n=n,
                formats=[outputs.fmt],
                concurrency=concurrency,
                workspace=workspace,
                seed=seed,
                budget={"max_attempts": max_attempts, "max_tokens": max_tokens, "deadline_s": deadline},
                max_rewrites=max_rewrites,
                turns=turns,
                judge=judge,
                into=into,
                knowledge=knowledge,
                batch=batch,
                executor=executor,
                ray_address=ray_address,
            )
            command = GenerateCommand(outputs, request, pack, resume=resume)
    except ValidationError as exc:
        raise CliError(describe_invalid(exc)) from None
    except (UsageError, StylePackError, ValueError) as exc:
        raise CliError(_first_line(exc)) from None
    settings = Settings()
    if batch and settings.uses_embedded_llm:
        raise CliError("--batch needs a hosted endpoint with a Batch API: set DIALOGFORGE_LLM_BASE_URL")
    if executor == "ray":
        _check_ray_generation(settings, batch, knowledge, command.pack)
    limits = {"llm_rpm": rpm, "llm_tpm": tpm, "cache": False if no_cache else None, "batch_deadline_s": batch_deadline}
    settings = settings.model_copy(update={key: value for key, value in limits.items() if value is not None})
    code = run_generate(command, settings, console)
    raise typer.Exit(code)


app.command("serve")(serve)
app.add_typer(datasets_app, name="datasets")
app.command("report")(report_command)
app.add_typer(cache_app)
app.add_typer(knowledge_app, name="knowledge")
app.add_typer(review_app, name="review")
app.command("clean")(clean)
app.command("augment")(augment_command)


@app.command(
    "eval",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
    add_help_option=False,
)
def eval_command(ctx: typer.Context) -> None:
    """Measure judge prompts against human labels: dialogforge eval judges --help."""
    from evals.cli import make_eval_app
    from service.cli.eval_runtime import SettingsRuntime
    from service.settings import Settings

    make_eval_app(SettingsRuntime(Settings()))(args=ctx.args, prog_name="dialogforge eval")


def _check_ray_generation(settings: Any, batch: bool, knowledge: str | None, pack: Any) -> None:
    """Refuse a Ray generation that cannot run, in one line, before the job is stored or a model loads."""
    from graph.executors.ray_session import ExecutorError
    from service.jobs.ray_generation import check_hosted, check_ray_job

    try:
        check_hosted(settings)
        if pack is not None:
            check_ray_job(batch=batch, knowledge=knowledge, pack=pack)
    except ExecutorError as exc:
        raise CliError(str(exc)) from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def main() -> None:
    """Run the CLI: known errors become one line on stderr and a non-zero exit, never a traceback."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from agents.embeddings import EmbedderUnavailableError
    from agents.knowledge.readers import KnowledgeError
    from agents.llm import LLMUnreachableError
    from agents.local_llm import EmbeddedServerError, ModelAssemblyError
    from agents.pricing import PricingError
    from agents.prompting import PromptError
    from agents.weighted import LogprobsUnavailableError
    from graph.datasets.export import ExportError
    from service.cli.errors import JobError, UsageError
    from service.jobs.errors import JobServiceError
    from service.jobs.owner import DataDirInUseError

    known = (
        CliError,
        DatasetCliError,
        UsageError,
        JobError,
        JobServiceError,
        DataDirInUseError,
        LLMUnreachableError,
        EmbedderUnavailableError,
        ModelAssemblyError,
        EmbeddedServerError,
        PromptError,
        ExportError,
        PricingError,
        KnowledgeError,
        LogprobsUnavailableError,
    )
    try:
        result = app(standalone_mode=False)  # click returns a command's exit code instead of raising
        sys.exit(result if isinstance(result, int) else 0)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except known as exc:
        print(f"error: {_first_line(exc)}", file=sys.stderr)
        code = getattr(exc, "code", None)  # a service error's code is a name, not an exit code
        bad_input = isinstance(exc, UsageError | KnowledgeError | LogprobsUnavailableError)
        sys.exit(code if isinstance(code, int) else 2 if bad_input else 1)
    except Exception as exc:  # usage errors of typer's click and anything unexpected: one line, no traceback
        exit_code = getattr(exc, "exit_code", None)
        if hasattr(exc, "format_message") and isinstance(exit_code, int):
            print(f"error: {exc.format_message()}", file=sys.stderr)
            sys.exit(exit_code)
        print(f"error: {type(exc).__name__}: {_first_line(exc)}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
