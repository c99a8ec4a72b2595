"""``dialogforge generate``: run one ``generate`` job through the job service, then export it from the store.

The CLI runs the same durable path as the HTTP service: a :class:`JobManager` over the job store
in the data directory. Every finished sample is written as it finishes, so a job killed at any
point (even SIGKILL) loses nothing accepted; ``--resume`` (same arguments) or ``--job ID``
continues it to exactly n. The data set and the report are written from the store at the end.
"""

from __future__ import annotations

import asyncio
import signal
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import get_args

from rich.console import Console

from agents.llm import check_reachable
from agents.prompting import judge_prompt
from agents.styles import StylePack, resolve_style
from graph.datasets.export import ExportFormat, write_dataset_info, write_jsonl
from graph.datasets.report import write_report
from graph.knowledge import check_source
from graph.memory import open_client
from service.cli.errors import JobError, UsageError
from service.cli.job_view import ProgressView, print_summary
from service.cli.limits import limits_line
from service.engine import Engine
from service.jobs.errors import JobNotFoundError
from service.jobs.kinds.base import MAX_CONCURRENCY
from service.jobs.kinds.generate import MAX_BATCH_CONCURRENCY, GenerateJobRequest
from service.jobs.manager import JobManager
from service.jobs.models import RESUMABLE_STATUSES, JobRecord, JobRequest, Limits
from service.jobs.owner import DataDirOwner
from service.jobs.store import JobStore
from service.jobs.styles import StyleRegistry
from service.settings import Settings

EXIT_INCOMPLETE = 3
EXIT_INTERRUPTED = 130
MAX_N = 100_000


@dataclass
class Outputs:
    """Where the job's data set and report go."""

    fmt: ExportFormat
    output: Path
    report_dir: Path | None


@dataclass
class GenerateCommand:
    """A validated ``generate`` invocation: a new request, or the id of a stored job to continue."""

    outputs: Outputs
    request: GenerateJobRequest | None = None
    pack: StylePack | None = None
    resume: bool = False
    job_id: str | None = None


def check_writable(path: Path, what: str) -> None:
    """Fail early, before any LLM call, when an output cannot be written (creates missing folders)."""
    if what == "output" and path.is_dir():
        raise UsageError(f"output {path} is a directory; give a file name such as {path / 'data.jsonl'}")
    folder = path if what == "report directory" else path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise UsageError(f"cannot write the {what} {path}: {exc.strerror or exc}") from None


def check_outputs(fmt: str, output: Path, report_dir: Path | None) -> Outputs:
    """Check the format and that the outputs can be written."""
    formats = get_args(ExportFormat)
    if fmt not in formats:
        raise UsageError(f"unknown format {fmt!r}; choose one of: {', '.join(formats)}")
    check_writable(output, "output")
    if report_dir is not None:
        check_writable(report_dir, "report directory")
    return Outputs(fmt, output, report_dir)  # type: ignore[arg-type]


def check_request(
    style: str, n: int, concurrency: int, max_rewrites: int, judge: str, *, batch: bool = False
) -> StylePack:
    """Check the options no model is needed for; return the style pack (name, alias or file)."""
    if not 1 <= n <= MAX_N:
        raise UsageError(f"-n must be between 1 and {MAX_N}, got {n}")
    most = MAX_BATCH_CONCURRENCY if batch else MAX_CONCURRENCY
    if not 1 <= concurrency <= most:
        with_batch = " with --batch" if batch else ""
        raise UsageError(f"--concurrency must be between 1 and {most}{with_batch}, got {concurrency}")
    if not 0 <= max_rewrites <= 10:
        raise UsageError(f"--max-rewrites must be between 0 and 10, got {max_rewrites}")
    judge_prompt(judge, allow_path=True)  # unknown judge prompt: PromptError lists the known ones
    return resolve_style(style)


def cli_limits(settings: Settings) -> Limits:
    """The bounds of a command-line job: one job, the CLI's own n and concurrency ranges."""
    return Limits(
        max_job_n=MAX_N,
        max_job_concurrency=MAX_CONCURRENCY,
        max_concurrent_jobs=1,
        shutdown_grace_s=settings.shutdown_grace_s,
    )


def cli_manager(engine: Engine, store: JobStore, settings: Settings, owner_id: str) -> JobManager:
    """The job manager of one command-line job: this process owns the data directory; no job is recovered."""
    limits = cli_limits(settings)
    return JobManager(
        engine, store, StyleRegistry(store), limits, owner_id=owner_id, lease_s=settings.job_lease_s, recover=False
    )


class Announcer:
    """Print the limits line first: before the engine's first message, or once it has started."""

    def __init__(self, err: Console, line: str | None) -> None:
        """Keep the line until it is printed (None: nothing to print)."""
        self.err, self.line = err, line
        self.done = line is None

    def limits(self) -> None:
        """Print the limits line, once."""
        if not self.done:
            self.err.print(self.line, highlight=False, soft_wrap=True)
            self.done = True

    def notify(self, message: str) -> None:
        """Print one of the engine's start-up messages (after the limits line)."""
        self.limits()
        self.err.print(f"[dim]{message}[/dim]")


def _limits_line(settings: Settings, store: JobStore, command: GenerateCommand) -> str | None:
    """The limits line of the job the command runs (a stored job's own for ``--job``; None if unknown)."""
    request: JobRequest | None = command.request
    if request is None and command.job_id is not None:
        record = store.get_job(command.job_id)
        request = record.request if record is not None else None
    if request is None:
        return None
    return limits_line(settings, request.concurrency, batch=getattr(request, "batch", False))


def run_generate(command: GenerateCommand, settings: Settings, console: Console) -> int:
    """Run (or continue) the job, then write the data set, dataset_info.json and the report; return the exit code."""
    err = Console(stderr=True)
    # one owner per data directory: refused in one line, before a model loads, if a server has it
    with DataDirOwner(settings.data_dir, "dialogforge generate") as owner:
        store = JobStore(settings.data_dir)
        try:
            knowledge = command.request.knowledge if command.request is not None else None
            if knowledge:  # a wrong --knowledge fails here, before the model starts
                check_source(open_client(settings.data_dir), knowledge)
            announce = Announcer(err, _limits_line(settings, store, command))
            engine = Engine.start(settings, notify=announce.notify)  # a bad embedder setting: only its error line
            announce.limits()
            try:
                if settings.llm_base_url and not engine.is_embedded:
                    asyncio.run(check_reachable(engine.base_url, settings.llm_config().api_key, timeout=10))
                manager = cli_manager(engine, store, settings, owner.owner_id)
                record, signalled = asyncio.run(_run_job(manager, command, err))
            finally:
                engine.stop()
            return _finish(store, record, signalled, command.outputs, console, err)
        finally:
            store.close()


async def _run_job(manager: JobManager, command: GenerateCommand, err: Console) -> tuple[JobRecord, bool]:
    """Start or continue the job, show its progress until it ends; return it and whether a signal stopped it."""
    return await follow_job(manager, await _start_or_resume(manager, command, err), err)


async def follow_job(manager: JobManager, record: JobRecord, err: Console) -> tuple[JobRecord, bool]:
    """Show a started job's progress until it ends; return it and whether SIGINT/SIGTERM stopped it."""
    view = ProgressView(err, record.progress)
    manager.observer = view
    signals = _GracefulStop(manager, err)
    signals.install()
    try:
        with view.progress:
            async for update in manager.subscribe(record.id):
                view.show(update.progress)
        await manager.shutdown()  # the job has ended: wait for its task to finish writing
    finally:
        signals.remove()
    return await manager.get(record.id), signals.count > 0


async def _start_or_resume(manager: JobManager, command: GenerateCommand, err: Console) -> JobRecord:
    """Continue the job asked for (``--job``), the same job (``--resume``), or start a new one."""
    if command.job_id is not None:
        try:
            record = await manager.resume_job(command.job_id)
        except JobNotFoundError:
            raise UsageError(f"no job {command.job_id!r} in {manager.store.path.parent}") from None
        err.print(f"continuing job {record.id} ({record.progress.accepted}/{record.progress.target} accepted)")
        return record
    request, pack = command.request, command.pack
    assert request is not None and pack is not None
    store = manager.store
    earlier = await store.run(store.latest_like, request, pack, (*RESUMABLE_STATUSES, "completed"))
    if command.resume and earlier is not None:
        err.print(f"continuing job {earlier.id} ({earlier.progress.accepted}/{earlier.progress.target} accepted)")
        return await manager.resume_job(earlier.id)
    if command.resume:
        err.print("no earlier job with these arguments to continue: starting a new one")
    elif earlier is not None and earlier.status in RESUMABLE_STATUSES:
        err.print(
            f"note: job {earlier.id} with these arguments stopped at {earlier.progress.accepted}/"
            f"{earlier.progress.target}; add --resume to continue it instead of starting again"
        )
    record = await manager.start(request, pack=pack, origin="cli")
    err.print(f"job {record.id}: if it stops, run the same command with --resume (or --job {record.id})")
    return record


class _GracefulStop:
    """SIGINT/SIGTERM: the first lets samples in flight finish and keeps them; the second stops now."""

    def __init__(self, manager: JobManager, err: Console) -> None:
        self.manager, self.err, self.count = manager, err, 0
        self._tasks: set[asyncio.Task[None]] = set()

    def install(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, self._on_signal)

    def remove(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)

    def _on_signal(self) -> None:
        self.count += 1
        if self.count == 1:
            self.err.print("interrupted: letting the samples in flight finish (interrupt again to stop now)")
        grace = None if self.count == 1 else 0.0
        task = asyncio.ensure_future(self.manager.shutdown(grace))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _finish(
    store: JobStore, record: JobRecord, signalled: bool, outputs: Outputs, console: Console, err: Console
) -> int:
    """Write the outputs from the store and return the exit code of the job's end."""
    count = _write_dataset(store, record.id, outputs)
    summary = record.summary
    resume_hint = f"continue with the same command and --resume (or --job {record.id})"
    if record.status in ("interrupted", "cancelled") and (signalled or summary is None):
        console.print(f"wrote {count} accepted samples to {outputs.output} ({record.status}; {resume_hint})")
        if not signalled:
            raise JobError(f"job {record.id} stopped: {record.error or record.status}; {resume_hint}")
        return EXIT_INTERRUPTED
    if summary is None:
        err.print(f"the job failed: wrote the {count} samples accepted before the error to {outputs.output}")
        raise JobError(record.error or f"job {record.id} {record.status}")
    if outputs.report_dir is not None:
        samples = store.samples(record.id, None)
        request = {**record.request.model_dump(mode="json"), "format": outputs.fmt, "output": str(outputs.output)}
        write_report(outputs.report_dir, summary, samples, request)
    print_summary(console, summary, outputs.fmt, outputs.output, count, outputs.report_dir)
    if record.version:
        console.print(f"data set version: {record.version}", highlight=False)
    elif record.request.into:
        err.print(f"warning: no version of {record.request.into} was written: {record.error or 'nothing accepted'}")
    return 0 if summary.complete else EXIT_INCOMPLETE


def _write_dataset(store: JobStore, job_id: str, outputs: Outputs) -> int:
    """Export the job's accepted samples from the store (and dataset_info.json beside them); return how many."""
    pages = store.iter_sample_pages(job_id, "accepted")
    count = write_jsonl((sample for page in pages for sample in page), outputs.fmt, outputs.output)
    if outputs.fmt != "raw":  # raw is the audit dump, not a training format
        output = outputs.output
        write_dataset_info(output.parent, output.stem, output.name, outputs.fmt)
    return count
