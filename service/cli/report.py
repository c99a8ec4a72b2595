"""``dialogforge report REF [-o DIR] [--against REF]``: the QC report of a version (HTML with plots + JSON)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from agents.styles import StylePack, StylePackError
from graph.datasets.errors import DatasetError
from graph.datasets.manifest import Manifest
from service.cli.errors import UsageError
from service.report_inputs import JobRejections, job_rejections, most_common_pack, share_cores_politely, writing_jobs

console = Console(stderr=True)


def pack_for(manifests: list[Manifest], style: str | None) -> StylePack | None:
    """Return the pack named by ``--style``, else the versions' most common style if it is a known pack."""
    from agents.styles import resolve_style

    if style:
        try:
            return resolve_style(style)
        except StylePackError as error:
            raise UsageError(str(error)) from None

    def known(name: str) -> StylePack | None:
        try:
            return resolve_style(name)
        except StylePackError:
            return None

    return most_common_pack(manifests, known)


def read_job_rejections(data_dir: Path, manifests: list[Manifest]) -> JobRejections:
    """Return, for versions written by a job, the job's id and rejections by reason (read from the job store)."""
    from service.jobs.store import DB_FILE, JobStore

    jobs = writing_jobs(manifests)
    if not jobs or not (data_dir / DB_FILE).is_file():
        return {}
    store = JobStore(data_dir)
    try:
        found = {}
        for ref, job_id in jobs.items():
            record = store.get_job(job_id)
            found[ref] = (job_id, record.summary if record is not None else None)
        return job_rejections(found)
    finally:
        store.close()


def report_command(
    ref: Annotated[str, typer.Argument(help="The version to report on: name, name@3 or name@v1.1.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Directory (default out/<name>-report).")
    ] = None,
    against: Annotated[str | None, typer.Option(help="Another version to show side by side, e.g. name@2.")] = None,
    style: Annotated[
        str | None, typer.Option(help="Pack whose bounds and thresholds are drawn (default: the rows' style).")
    ] = None,
    sample: Annotated[int, typer.Option(help="Rows sampled for the top terms and distinct-n.", min=1)] = 5_000,
    map_sample: Annotated[
        int, typer.Option(help="Rows embedded for the topic map and near-duplicates (0: none).", min=0)
    ] = 500,
    balance_bound: Annotated[
        float, typer.Option(help="Warn when one class holds more than this share.", min=0.01, max=1.0)
    ] = 0.8,
    near_duplicate: Annotated[
        float | None, typer.Option(help="Cosine bound for near-duplicates (default: the pack's, else 0.95).")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the samples, clusters and projection.")] = 0,
) -> None:
    """Write a QC report of a version: report.html (self-contained, plots inline) and report.json."""
    share_cores_politely()
    from graph.datasets.qc.build import ReportOptions, build_reports
    from graph.datasets.qc.html import write_report
    from graph.datasets.store import DatasetStore
    from service.settings import Settings

    settings = Settings()
    store = DatasetStore(settings.data_dir)
    try:
        manifests = [store.resolve(ref)] + ([store.resolve(against)] if against else [])
    except DatasetError as error:
        raise UsageError(str(error)) from None
    pack = pack_for(manifests, style)
    embedder = None
    if map_sample > 0:
        from agents.embeddings import make_embedder

        embedder = make_embedder(settings.embedder, settings.embedding_endpoint())
    options = ReportOptions(
        text_sample=sample, map_sample=map_sample, balance_bound=balance_bound, near_duplicate=near_duplicate,
        seed=seed,
    )  # fmt: skip
    rejections = read_job_rejections(settings.data_dir, manifests)
    report = build_reports(store, manifests, embedder=embedder, pack=pack, options=options, job_rejections=rejections)
    directory = output or Path("out") / f"{manifests[0].name}-report"
    try:
        html_path, json_path = write_report(report, directory)
    except OSError as error:
        raise UsageError(f"cannot write the report to {directory}: {error.strerror}") from None
    for version in report.versions:
        for warning in version.warnings:
            console.print(f"[yellow]warning[/yellow] {version.ref}: {warning}", highlight=False)
    print(f"wrote {html_path} and {json_path} ({report.seconds:.1f} s)", file=sys.stdout)
