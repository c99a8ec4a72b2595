"""``dialogforge datasets``: import files as versioned data sets, list, show, diff and export them.

Every command works on the store in ``DIALOGFORGE_DATA_DIR`` (``graph.datasets.store``). Bad
input is one ``error:`` line and exit code 2; nothing half-written is left behind.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from graph.datasets.errors import DatasetError
from graph.datasets.manifest import Manifest

datasets_app = typer.Typer(
    name="datasets",
    help="Import, list, show, diff and export versioned data sets.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console()


class DatasetCliError(Exception):
    """A data-set error shown as one line with exit code 2."""

    code = 2


@contextmanager
def _errors() -> Iterator[None]:
    try:
        yield
    except DatasetError as error:
        raise DatasetCliError(str(error)) from None


def _store():  # type: ignore[no-untyped-def]
    from graph.datasets.store import DatasetStore
    from service.settings import Settings

    return DatasetStore(Settings().data_dir)


@datasets_app.command("import")
def import_command(
    sources: Annotated[
        list[str], typer.Argument(help="Files (.jsonl .json .csv .tsv .parquet), HF folders, hf:owner/name.")
    ],
    name: Annotated[str, typer.Option("--name", "-n", help="The data set to add a version to (created if new).")],
    fmt: Annotated[
        str | None, typer.Option("--format", "-f", help="sharegpt | openai | alpaca (default: detect)")
    ] = None,
    mapping: Annotated[
        str | None, typer.Option("--map", help="Pairs from columns: user=COL,assistant=COL[,system=COL]")
    ] = None,
    chat_log: Annotated[
        str | None,
        typer.Option(
            help="One message a row: speaker=COL,text=COL[,time=COL][,conversation=COL]"
            "[,me=COL|assistant=NAME][,gap=30m]"
        ),
    ] = None,
    on_error: Annotated[
        str, typer.Option(help="fail: stop at the first bad row; skip: keep going, rejects.jsonl")
    ] = "fail",
    encoding: Annotated[str | None, typer.Option(help="Text encoding (default: sniffed).")] = None,
    split: Annotated[str | None, typer.Option(help="Split of an HF data set (train, test, ...).")] = None,
    tag: Annotated[str | None, typer.Option(help="Tag the new version, e.g. v1.1.")] = None,
) -> None:
    """Import files as a new version of a data set (formats detected unless given)."""
    from graph.datasets.importer import ImportOptions, import_sources, parse_pairs

    if on_error not in ("fail", "skip"):
        raise DatasetCliError(f"--on-error must be fail or skip, got {on_error!r}")
    with _errors():
        columns, log = parse_pairs(mapping, "--map"), parse_pairs(chat_log, "--chat-log")
    options = ImportOptions(
        format=fmt, mapping=columns, chat_log=log,
        on_error=on_error, encoding=encoding, split=split, tag=tag,  # type: ignore[arg-type]
    )  # fmt: skip
    with _errors(), console.status("importing...", spinner="dots") as status:

        def progress(rows: int, rejected: int) -> None:
            status.update(f"importing: {rows:,} samples, {rejected:,} rejected")

        result = import_sources(
            _store(),
            name,
            sources,
            options,
            progress=progress if console.is_terminal else None,
            on_detect=lambda line: console.print(f"detected: {line}", highlight=False, soft_wrap=True),
        )
    manifest = result.manifest
    console.print(f"[bold]{manifest.ref}[/bold]: {manifest.rows} samples imported" + _tail(manifest), highlight=False)


def _tail(manifest: Manifest) -> str:
    parts = []
    if manifest.rejected:
        parts.append(f"{manifest.rejected} rows rejected (see {manifest.rejects_file})")
    parts += [f"{count} {reason}" for reason, count in manifest.dropped.items()]
    return f"; {'; '.join(parts)}" if parts else ""


@datasets_app.command("list")
def list_command() -> None:
    """List the data sets with their latest version."""
    with _errors():
        store = _store()
        names = store.names()
        if not names:
            console.print("no data sets yet; import one with: dialogforge datasets import FILE --name NAME")
            return
        table = Table("name", "versions", "latest", "rows", "operation", "created")
        for name in names:
            versions = store.versions(name)
            last = versions[-1]
            table.add_row(name, str(len(versions)), _label(last), str(last.rows), last.operation, _when(last))
    console.print(table)


def _label(manifest: Manifest) -> str:
    return f"{manifest.ref} ({manifest.tag})" if manifest.tag else manifest.ref


def _when(manifest: Manifest) -> str:
    return manifest.created_at.strftime("%Y-%m-%d %H:%M")


@datasets_app.command("show")
def show_command(
    ref: Annotated[str, typer.Argument(help="name (every version), name@3 or name@v1.1 (one version)")],
    sample: Annotated[int, typer.Option(help="Print this many samples, picked at random.")] = 0,
    seed: Annotated[int, typer.Option(help="Seed for --sample.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the manifest(s) as JSON.")] = False,
) -> None:
    """Show a data set's versions, counts, sources and lineage, and optionally a few samples."""
    with _errors():
        store = _store()
        versions = store.versions(ref) if "@" not in ref else [store.resolve(ref)]
        if as_json:
            console.print_json(json.dumps([m.model_dump(mode="json") for m in versions], ensure_ascii=False))
        else:
            for manifest in versions:
                _print_manifest(manifest)
        if sample > 0:
            _print_samples(store, versions[-1], sample, seed)


def _print_manifest(manifest: Manifest) -> None:
    parents = f" from {', '.join(manifest.parents)}" if manifest.parents else ""
    partial = " [partial]" if manifest.partial else ""
    console.print(
        f"[bold]{_label(manifest)}[/bold]: {manifest.operation}{parents}, {_when(manifest)}{partial}", highlight=False
    )
    console.print(
        f"  rows {manifest.rows}, rejected {manifest.rejected}" + _tail(manifest).replace("; ", ", ", 1).lstrip(";"),
        highlight=False,
    )
    for source in manifest.sources:
        console.print(
            f"  source {source.path} ({source.kind}, {source.format}, {source.rows_read} rows, "
            f"sha256 {source.sha256[:12]})",
            highlight=False,
        )
    for key, counts in manifest.lineage_counts.items():
        if key != "source_file":
            shown = ", ".join(f"{value} {count}" for value, count in sorted(counts.items(), key=lambda kv: -kv[1])[:5])
            console.print(f"  {key}: {shown}", highlight=False)
    console.print(f"  content {manifest.content_hash[:16]}", highlight=False)


def _print_samples(store, manifest: Manifest, count: int, seed: int) -> None:  # type: ignore[no-untyped-def]
    picked = set(random.Random(seed).sample(range(manifest.rows), min(count, manifest.rows)))
    index = 0
    for samples in store.iter_samples(manifest, 5_000):
        for item in samples:
            if index in picked:
                where = (
                    f"{item.lineage.source_file}:{item.lineage.source_row}"
                    if item.lineage.source_file
                    else item.lineage.origin
                )
                console.print(f"\n[bold]{item.id}[/bold] ({where})", highlight=False)
                if item.system:
                    console.print(f"  system: {item.system}", highlight=False)
                for turn in item.turns:
                    console.print(f"  {turn.role}: {turn.content}", highlight=False, soft_wrap=True)
            index += 1


@datasets_app.command("export")
def export_command(
    ref: Annotated[str, typer.Argument(help="name, name@3 or name@v1.1")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="alpaca | sharegpt | openai | raw")] = "sharegpt",
    output: Annotated[Path, typer.Option("--output", "-o", help="JSONL file to write.")] = Path("out/data.jsonl"),
) -> None:
    """Export a version as JSON Lines in a training format."""
    from graph.datasets.version_export import check_format, export_version

    with _errors():
        store = _store()
        chosen = check_format(fmt)
        manifest = store.resolve(ref)
        count = export_version(store, manifest, chosen, output)
    console.print(f"wrote {count} samples of {manifest.ref} ({chosen}) to {output}", highlight=False)


@datasets_app.command("diff")
def diff_command(
    base: Annotated[str, typer.Argument(help="The version to compare from, e.g. bank-logs@1")],
    other: Annotated[str, typer.Argument(help="The version to compare to, e.g. bank-logs@2")],
    fmt: Annotated[str, typer.Option("--format", help="text | json")] = "text",
    examples: Annotated[int, typer.Option(help="Examples of each kind of change.")] = 3,
) -> None:
    """Show samples added, removed and changed between two versions (by sample id)."""
    from graph.datasets.diff import diff_versions

    if fmt not in ("text", "json"):
        raise DatasetCliError(f"--format must be text or json, got {fmt!r}")
    with _errors():
        diff = diff_versions(_store(), base, other, max(0, examples))
    if fmt == "json":
        print(diff.model_dump_json(indent=2))
        return
    console.print(
        f"[bold]{diff.base} -> {diff.other}[/bold]: {diff.added} added, {diff.removed} removed, "
        f"{diff.changed} changed, {diff.unchanged} unchanged ({diff.base_rows} -> {diff.other_rows} rows)",
        highlight=False,
    )
    for kind, counts in diff.by_operation.items():
        if counts:
            console.print(
                f"  {kind} by operation: " + ", ".join(f"{op} {n}" for op, n in counts.items()), highlight=False
            )
    for kind, items in diff.examples.items():
        for item in items:
            console.print(f"\n[bold]{kind}[/bold] {item.id} ({item.operation})", highlight=False)
            for label, row in (("before", item.before), ("after", item.after)):
                if row is not None and (kind == "changed" or label == ("after" if kind == "added" else "before")):
                    prefix = f"  {label}: " if kind == "changed" else "  "
                    text = " | ".join(f"{t['role']}: {t['content']}" for t in row["turns"])
                    console.print(f"{prefix}{text}", highlight=False, soft_wrap=True)
