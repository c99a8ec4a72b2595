"""``dialogforge clean``: run a chain of cleaning operators over a version into a new version.

``dialogforge clean bank-logs@1 --into bank-logs [--ops default,refusals:rewrite | --recipe r.yaml]
[--style gentle] [--report DIR] [--executor local|ray [--ray-address auto]]`` and
``dialogforge clean --list-ops``. The source version is never changed; the new version appears
whole or not at all (Ctrl-C, SIGTERM or a crash leave nothing, and a rerun starts clean);
rerunning a finished cleaning returns the version it made.
Bad input is one ``error:`` line and exit code 2.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from service.cli.errors import UsageError
from service.cli.placement import ExecutorOption, RayAddressOption, check_placement

if TYPE_CHECKING:
    from graph.cleaning.registry import ChainSpec
    from graph.cleaning.run import CleanResult

console = Console()
err_console = Console(stderr=True)
MAX_WORKERS = 16
MAX_BATCH_ROWS = 100_000


def _say(text: str) -> None:
    console.print(text, highlight=False, soft_wrap=True)


def clean(
    ref: Annotated[str | None, typer.Argument(help="The version to clean: name, name@3 or name@v1.1.")] = None,
    into: Annotated[str | None, typer.Option("--into", help="Data set to write the new version to.")] = None,
    ops: Annotated[
        str | None, typer.Option("--ops", help="Operators in order, e.g. default,refusals:rewrite (see --list-ops).")
    ] = None,
    recipe: Annotated[Path | None, typer.Option("--recipe", help="A YAML recipe file with the chain.")] = None,
    style: Annotated[
        str | None, typer.Option("--style", "-s", help="Style pack for refusals:rewrite and judge.")
    ] = None,
    report: Annotated[Path | None, typer.Option("--report", help="Directory for report.json and report.md.")] = None,
    workers: Annotated[int, typer.Option(help="Worker processes for the rule operators (0: none).")] = 2,
    tag: Annotated[str | None, typer.Option(help="Tag the new version, e.g. v1.1.")] = None,
    list_ops: Annotated[bool, typer.Option("--list-ops", help="List the operators and their parameters.")] = False,
    batch_rows: Annotated[
        int, typer.Option("--batch-rows", help="Rows per batch: memory holds a few; on Ray, one unit of work.")
    ] = 5_000,
    executor: ExecutorOption = "local",
    ray_address: RayAddressOption = None,
) -> None:
    """Clean a version with a chain of operators (default: the rule chain) into a new version."""
    from graph.cleaning.registry import ChainError, load_recipe, parse_ops

    if list_ops:
        print_operators()
        return
    if ref is None or into is None:
        raise UsageError("give the version to clean and --into NAME, e.g. dialogforge clean logs@1 --into logs")
    if ops is not None and recipe is not None:
        raise UsageError("give either --ops or --recipe, not both")
    if not 0 <= workers <= MAX_WORKERS:
        raise UsageError(f"--workers must be between 0 and {MAX_WORKERS}, got {workers}")
    try:
        chain = load_recipe(recipe) if recipe is not None else parse_ops(ops or "default")
        chain.with_style(style)  # checked here; the job gives the style to its operators
    except ChainError as error:
        raise UsageError(str(error)) from None
    if report is not None:
        _check_writable(report)
    if not 1 <= batch_rows <= MAX_BATCH_ROWS:
        raise UsageError(f"--batch-rows must be between 1 and {MAX_BATCH_ROWS}, got {batch_rows}")
    check_placement(executor, ray_address)  # before the job is stored: one line, exit 2
    placement = {"batch_rows": batch_rows, "executor": executor, "ray_address": ray_address}
    result = _run(ref, into, chain, workers, tag, style, placement)
    if report is not None:
        _write_report_dir(report, result)
    _print_result(result, report)


def _check_writable(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise UsageError(f"cannot write the report directory {folder}: {exc.strerror or exc}") from None


def _run(
    ref: str,
    into: str,
    chain: ChainSpec,
    workers: int,
    tag: str | None,
    style: str | None,
    placement: dict[str, object],
) -> CleanResult:
    """Run the cleaning as a ``clean`` job (the path of ``POST /v1/jobs``); return the version and its report."""
    from pydantic import ValidationError

    from agents.styles import StylePackError, resolve_style
    from graph.cleaning.registry import ChainError
    from graph.cleaning.report import CleanReport
    from graph.cleaning.run import REPORT_FILE, CleanResult
    from graph.datasets.errors import DatasetError
    from graph.datasets.refs import check_name
    from graph.datasets.store import DatasetStore
    from service.cli.clean_job import run_clean_job
    from service.cli.clean_progress import CleanProgressView
    from service.jobs.errors import JobServiceError
    from service.jobs.kinds.clean import CleanJobRequest
    from service.settings import Settings

    settings = Settings()
    store = DatasetStore(settings.data_dir)
    try:
        check_name(into)
        source = store.resolve(ref)
        pack = resolve_style(style) if style is not None else None
        request = CleanJobRequest(
            kind="clean", source=source.ref, into=into, recipe=chain.as_recipe(), style=style,
            workers=workers, tag=tag, **placement,
        )  # fmt: skip
        with CleanProgressView(err_console, source.rows) as view:
            record, signalled = run_clean_job(
                settings, request, pack, view.update, lambda line: err_console.print(line, highlight=False)
            )
    except (DatasetError, ChainError, StylePackError, JobServiceError) as error:
        raise UsageError(str(error)) from None
    except ValidationError as error:
        first = error.errors()[0]
        raise UsageError(f"{'.'.join(map(str, first['loc']))}: {first['msg']}") from None
    if signalled or record.status in ("interrupted", "cancelled"):
        raise UsageError("interrupted: no version was written (run the command again to start over)")
    if record.version is None or record.summary is None:
        raise UsageError(f"the cleaning failed: {record.error or record.status} (job {record.id})")
    manifest = store.resolve(record.version)
    report = CleanReport.model_validate_json((store.folder(manifest) / REPORT_FILE).read_text(encoding="utf-8"))
    return CleanResult(manifest, report, reused=manifest.created_at < record.created_at)


def _write_report_dir(folder: Path, result: CleanResult) -> None:
    from graph.cleaning.report import render_markdown
    from graph.cleaning.run import DROPPED_FILE
    from graph.datasets.store import DatasetStore
    from service.settings import Settings

    (folder / "report.json").write_text(result.report.model_dump_json(indent=2) + "\n", encoding="utf-8")
    (folder / "report.md").write_text(render_markdown(result.report), encoding="utf-8")
    dropped = DatasetStore(Settings().data_dir).folder(result.manifest) / DROPPED_FILE
    if dropped.is_file():
        shutil.copyfile(dropped, folder / DROPPED_FILE)


def _print_result(result: CleanResult, report_dir: Path | None) -> None:
    report = result.report
    manifest = result.manifest
    if result.reused:
        _say(
            f"[bold]{manifest.ref}[/bold] already holds this cleaning of {report.source} (same rows, same chain); "
            "nothing new was written"
        )
    else:
        _say(
            f"[bold]{manifest.ref}[/bold]: kept {report.rows_out} of {report.rows_in} rows of {report.source} "
            f"in {report.seconds:.1f} s" + (f" on {report.ray_nodes} Ray node(s)" if report.executor == "ray" else "")
        )
    dropped = report.dropped_by_code()
    if dropped:
        shown = ", ".join(f"{code} {count}" for code, count in dropped.most_common())
        _say(f"  dropped: {shown}")
    changed = [(op.name, sum(op.changed.values())) for op in report.operators if op.changed]
    if changed:
        _say("  changed: " + ", ".join(f"{name} {count}" for name, count in changed))
    if report_dir is not None:
        _say(f"  report: {report_dir / 'report.md'}")


def print_operators() -> None:
    """Print every operator with its summary and parameters."""
    from graph.cleaning.registry import DEFAULT_CHAIN, describe_operators

    for operator in describe_operators():
        shorthand = f" (name:value sets {operator['shorthand']})" if operator["shorthand"] else ""
        _say(f"[bold]{operator['name']}[/bold]{shorthand}: {operator['summary']}")
        for param in operator["params"]:
            about = f" {param['description']}" if param["description"] else ""
            _say(f"    {param['name']}: {param['type']} = {param['default']!r}.{about}")
    _say("default = " + ",".join(DEFAULT_CHAIN))
