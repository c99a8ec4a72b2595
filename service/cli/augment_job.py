"""Run ``dialogforge augment`` as an ``augment`` job in this process, through the job service, and report it.

The job manager, the job store and the kind's run are the service's own (``POST /v1/jobs`` takes
the same path); this module only checks the request before a model starts, follows the job's
updates with a progress bar, and prints the summary and the version written.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from rich.console import Console

from agents.llm import check_reachable
from agents.styles import StylePack
from graph.datasets.errors import DatasetError
from graph.datasets.store import DatasetStore
from graph.progress import JobSummary
from service.cli.errors import JobError, UsageError
from service.cli.generate import EXIT_INTERRUPTED, cli_limits, follow_job
from service.engine import Engine
from service.jobs.errors import JobNotFoundError, JobServiceError
from service.jobs.kinds.augment import AUGMENT, AugmentJobRequest
from service.jobs.manager import JobManager
from service.jobs.models import RESUMABLE_STATUSES, JobRecord
from service.jobs.owner import DataDirOwner
from service.jobs.store import JobStore
from service.jobs.styles import StyleRegistry
from service.settings import Settings

EXIT_NOTHING_ACCEPTED = 3
err = Console(stderr=True)
out = Console(highlight=False)


@dataclass
class AugmentCommand:
    """A validated ``augment`` invocation: the request, the pack given by ``--style``, and how to continue."""

    request: AugmentJobRequest
    pack: StylePack | None
    resume: bool = False
    job_id: str | None = None


def run_augment(command: AugmentCommand, settings: Settings) -> int:
    """Run (or continue) the job to its end; print its summary; return the exit code."""
    with DataDirOwner(settings.data_dir, "dialogforge augment") as owner:
        store = JobStore(settings.data_dir)
        try:
            if command.job_id is None:  # bad input: one line, before a model starts
                try:
                    command.pack = AUGMENT.admit(
                        command.request, cli_limits(settings), StyleRegistry(store), pack=command.pack, local=True
                    )
                except (JobServiceError, DatasetError) as error:
                    raise UsageError(str(error)) from None
            engine = Engine.start(settings, notify=lambda message: err.print(f"[dim]{message}[/dim]"))
            try:
                if settings.llm_base_url and not engine.is_embedded:
                    asyncio.run(check_reachable(engine.base_url, settings.llm_config().api_key, timeout=10))
                manager = JobManager(
                    engine, store, StyleRegistry(store), cli_limits(settings), owner_id=owner.owner_id,
                    lease_s=settings.job_lease_s, recover=False,
                )  # fmt: skip
                record, signalled = asyncio.run(_run(manager, command))
            finally:
                engine.stop()
            return _report(record, signalled, DatasetStore(settings.data_dir))
        finally:
            store.close()


async def _start_or_resume(manager: JobManager, command: AugmentCommand) -> JobRecord:
    """Continue the job asked for (``--job``), the same job (``--resume``), or start a new one."""
    if command.job_id is not None:
        try:
            record = await manager.resume_job(command.job_id)
        except JobNotFoundError:
            raise UsageError(f"no job {command.job_id!r} in {manager.store.path.parent}") from None
    else:
        store = manager.store
        earlier = await store.run(store.latest_like, command.request, command.pack, (*RESUMABLE_STATUSES, "completed"))
        if command.resume and earlier is not None:
            record = await manager.resume_job(earlier.id)
        else:
            if command.resume:
                err.print("no earlier job with these arguments to continue: starting a new one")
            elif earlier is not None and earlier.status in RESUMABLE_STATUSES:
                err.print(f"note: job {earlier.id} with these arguments stopped; add --resume to continue it")
            record = await manager.start(command.request, pack=command.pack, origin="cli")
            err.print(f"job {record.id}: if it stops, run the same command with --resume (or --job {record.id})")
            return record
    err.print(f"continuing job {record.id} ({record.progress.accepted} children accepted so far)")
    return record


async def _run(manager: JobManager, command: AugmentCommand) -> tuple[JobRecord, bool]:
    """Start or continue the job and follow it to its end (the progress bar of ``generate``)."""
    return await follow_job(manager, await _start_or_resume(manager, command), err)


def _counts(counter: dict[str, int]) -> str:
    return ", ".join(f"{name} {count}" for name, count in sorted(counter.items(), key=lambda kv: -kv[1])) or "none"


def print_summary(summary: JobSummary) -> None:
    """Print the job's figures: children per operator, rejections by reason, refusals, calls and tokens."""
    per_child = f", {summary.calls_per_accepted:.1f} calls per accepted child" if summary.calls_per_accepted else ""
    out.print(f"{summary.message}; accepted {summary.accepted} ({_counts(summary.accepted_by_operator)})")
    out.print(f"rejected {summary.rejected} ({_counts(summary.rejected_by_reason)}); rewrites {summary.rewrites}")
    if summary.refused_by_reason:
        out.print(f"refused parents: {_counts(summary.refused_by_reason)}")
    out.print(f"calls {summary.llm_calls}, tokens {summary.total_tokens}{per_child}; stopped: {summary.stop_reason}")


def _report(record: JobRecord, signalled: bool, datasets: DatasetStore) -> int:
    """Print how the job ended and return the exit code."""
    hint = f"continue with the same command and --resume (or --job {record.id})"
    if record.status == "interrupted" or (signalled and record.summary is None):
        err.print(f"job {record.id} {record.status}: {record.progress.accepted} children kept; {hint}")
        if not signalled:
            raise JobError(f"job {record.id} stopped: {record.error or record.status}; {hint}")
        return EXIT_INTERRUPTED
    if record.summary is None:
        raise JobError(record.error or f"job {record.id} {record.status}")
    print_summary(record.summary)
    if record.version is None:
        err.print(f"no child was accepted: no version written{f' ({record.error})' if record.error else ''}")
        return EXIT_NOTHING_ACCEPTED
    manifest = datasets.resolve(record.version)
    partial = " (partial: the job was stopped before its end)" if manifest.partial else ""
    out.print(f"wrote {manifest.ref}: {manifest.rows} rows ({record.summary.accepted} new){partial}")
    return 0
