"""``dialogforge augment REF --ops paraphrase,... --into NAME``: grow a data set through the judge loop.

The command runs one ``augment`` job through the job service, the path ``POST /v1/jobs`` takes
(``service.jobs.kinds.augment``): every finished child is in the job store as soon as it is
counted, so a job killed at any point continues with ``--resume`` (same arguments) or ``--job ID``
without making any child twice, and the accepted children become a new version of ``--into``
when the job ends. Everything that can be checked without a model is checked first: bad input is
one line and exit 2.
"""

from __future__ import annotations

from typing import Annotated

import typer

from service.cli.errors import UsageError


def augment_command(
    ref: Annotated[str, typer.Argument(help="The version to augment: name, name@3 or name@v1.1.")],
    ops: Annotated[str, typer.Option("--ops", "--op", help="Operators, comma-separated (paraphrase,extend).")],
    into: Annotated[str, typer.Option(help="Data set to write the new version of.")],
    per_sample: Annotated[int, typer.Option(help="Children per parent and operator.", min=1, max=10)] = 1,
    style: Annotated[str | None, typer.Option(help="Target style pack (default: the version's style).")] = None,
    via: Annotated[str | None, typer.Option(help="backtranslate: pivots, e.g. en; en,zh for zh and en rows.")] = None,
    scenes: Annotated[str | None, typer.Option(help="scene-transfer: scenes, e.g. 餐厅,书店.")] = None,
    turns: Annotated[int | None, typer.Option(help="extend / qa-to-dialogue: exchanges in all.")] = None,
    focus: Annotated[str | None, typer.Option(help="hard-cases: the boundary to probe.")] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="OPERATOR.FIELD=VALUE, e.g. paraphrase.max_overlap=0.4.")
    ] = None,
    concurrency: Annotated[int, typer.Option(help="LLM calls in flight at once.", min=1, max=64)] = 4,
    max_rewrites: Annotated[int, typer.Option(help="Rewrites per child before it is rejected.", min=0, max=10)] = 2,
    max_parents: Annotated[int | None, typer.Option(help="Augment only the first N rows.", min=1)] = None,
    with_parents: Annotated[
        bool | None,
        typer.Option(
            "--with-parents/--children-only",
            help="Keep the parents in the new version (default: when --into is the source's data set).",
        ),
    ] = None,
    max_attempts: Annotated[int | None, typer.Option(help="Budget: children started, in all.", min=1)] = None,
    max_tokens: Annotated[int | None, typer.Option(help="Budget: LLM tokens, all roles.", min=1)] = None,
    deadline: Annotated[float | None, typer.Option(help="Budget: wall-clock seconds.")] = None,
    resume: Annotated[bool, typer.Option(help="Continue the last job with the same arguments.")] = False,
    job: Annotated[str | None, typer.Option(help="Continue this stored job (its own arguments).")] = None,
) -> None:
    """Augment a data set version through the judge loop and write the accepted children as a new version."""
    from pydantic import ValidationError

    from agents.augment.registry import OperatorError, parse_ops
    from agents.styles import StylePackError, resolve_style
    from graph.datasets.errors import DatasetError
    from graph.datasets.refs import check_name
    from graph.datasets.store import DatasetStore
    from graph.progress import Budget
    from service.cli.augment_job import AugmentCommand, run_augment
    from service.cli.errors import describe_invalid
    from service.jobs.kinds.augment import AugmentJobRequest
    from service.settings import Settings

    settings = Settings()
    shorthands = {
        "via": [part.strip() for part in via.split(",")] if via else None,
        "scenes": [part.strip() for part in scenes.split(",") if part.strip()] if scenes else None,
        "turns": turns,
        "focus": focus,
    }
    try:
        specs = parse_ops(ops, shorthands, set_)
        check_name(into)
        source = DatasetStore(settings.data_dir).resolve(ref)
        pack = resolve_style(style) if style else None
        request = AugmentJobRequest(
            kind="augment", source=source.ref, into=into, ops=specs, style=style, per_sample=per_sample,
            max_rewrites=max_rewrites, max_parents=max_parents, with_parents=with_parents, concurrency=concurrency,
            budget=Budget(max_attempts=max_attempts, max_tokens=max_tokens, deadline_s=deadline),
        )  # fmt: skip
    except (OperatorError, DatasetError, StylePackError) as error:
        raise UsageError(str(error)) from None
    except ValidationError as error:
        raise UsageError(describe_invalid(error)) from None
    raise typer.Exit(run_augment(AugmentCommand(request, pack, resume=resume, job_id=job), settings))
