"""The ``clean`` job kind: a chain of cleaning operators over a version into a new version.

``POST /v1/jobs {"kind": "clean", "source": "logs@1", "into": "logs", "ops": "default"}`` and
``dialogforge clean logs@1 --into logs`` build the same request and run it here, through the job
store (the job, its status and its summary are durable; the version it made is the job's
``version``). The run is ``graph.cleaning.run.clean_version``: the version appears whole or not
at all (a cancelled or killed job leaves nothing; rerunning starts clean), and a cleaning of the
same source content with the same chain finds the version it made instead of writing a copy.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from agents.styles import StylePack
from graph.cleaning.executors import make_executor
from graph.cleaning.registry import ChainError, ChainSpec, parse_ops, parse_recipe
from graph.cleaning.report import CleanReport
from graph.cleaning.run import BATCH_ROWS, REPORT_FILE, CleanResult, clean_version
from graph.datasets.errors import DatasetError
from graph.datasets.refs import check_name, check_tag
from graph.datasets.store import DatasetStore
from graph.executors.ray_session import ExecutorError
from graph.progress import JobEvent, JobProgress, JobSummary, StopReason
from service.jobs.errors import InvalidRequestError
from service.jobs.kinds.base import ExecutorChoice, JobRequestBase, JobRun, RunContext

if TYPE_CHECKING:
    from service.jobs.models import Limits
    from service.jobs.styles import StyleRegistry

MAX_WORKERS = 16
MAX_OPS_TEXT = 2_000


class CleanJobRequest(JobRequestBase, ExecutorChoice):
    """Clean a version with a chain of operators into a new version of ``into``."""

    kind: Literal["clean"] = Field(description="The job kind.")
    source: str = Field(min_length=1, max_length=100, description="The version to clean: name, name@3 or name@v1.1.")
    into: str = Field(max_length=64, description="The data set that gets the cleaned version.", examples=["logs"])
    ops: str | None = Field(
        default=None,
        max_length=MAX_OPS_TEXT,
        description="Operators in order, e.g. default,refusals:rewrite (GET the CLI's --list-ops). Default: default.",
    )
    recipe: dict[str, Any] | None = Field(
        default=None, description="A recipe ({ops: [name | {name: {params}}]}) instead of ops."
    )
    style: str | None = Field(
        default=None,
        max_length=1024,
        description="Style pack name or alias for refusals:rewrite and judge (the command line also takes a file).",
    )
    workers: int = Field(default=2, ge=0, le=MAX_WORKERS, description="Worker processes for the rule operators.")
    batch_rows: int = Field(default=BATCH_ROWS, ge=1, le=100_000, description="Rows per batch (on Ray: one task).")
    tag: str | None = Field(default=None, max_length=64, description="Tag the new version, e.g. v1.1.")

    def chain(self) -> ChainSpec:
        """Return the validated chain (``ops`` text or ``recipe``; the style given to the operators that use one).

        Raises:
            ChainError: An operator, a parameter or the style is wrong (the message names the field).
        """
        if self.ops is not None and self.recipe is not None:
            raise ChainError("give either ops or recipe, not both")
        chain = parse_recipe(self.recipe) if self.recipe is not None else parse_ops(self.ops or "default")
        return chain.with_style(self.style)

    def parents(self) -> list[str]:
        """The version the job reads."""
        return [self.source]


def data_dir_of(styles: StyleRegistry) -> DatasetStore:
    """Return the version store of the data directory the job store (and its style registry) lives in."""
    return DatasetStore(styles.store.path.parent)


class CleanKind:
    """How ``clean`` jobs are admitted and run."""

    name = "clean"
    request_type = CleanJobRequest

    def target(self, request: CleanJobRequest) -> int:
        """Return 0: the target is the source's row count, known once the run resolves it."""
        return 0

    def admit(
        self,
        request: CleanJobRequest,
        limits: Limits,
        styles: StyleRegistry,
        *,
        pack: StylePack | None,
        local: bool,
    ) -> StylePack | None:
        """Check the chain and that the source exists; resolve the style (snapshotted with the job).

        Raises:
            InvalidRequestError: The chain is wrong.
            DatasetError: The source version does not exist (the message lists the versions that do), or
                the tag is invalid.
        """
        try:
            request.chain()
        except ChainError as exc:
            raise InvalidRequestError(str(exc)) from None
        if request.tag is not None:
            check_tag(request.tag)
        check_name(request.into)
        data_dir_of(styles).resolve(request.source)
        if request.style is None:
            return None
        return pack or styles.resolve(request.style)

    async def build(self, context: RunContext[CleanJobRequest]) -> JobRun:
        """Build the run: the chain's operators (models from the service's engine, if any operator calls them)."""
        return CleanRun(context)


class CleanRun:
    """One run of a ``clean`` job: ``clean_version`` with progress, cancel, and the job's summary."""

    def __init__(self, context: RunContext[CleanJobRequest]) -> None:
        """Keep the context; the chain is validated again (a stored request from an older version)."""
        self.context = context
        self.request = context.request
        self.report = CleanReport(source=self.request.source, target=self.request.into)
        self.target = 0
        self.written_version: str | None = None
        self._started = time.monotonic()
        self._task: asyncio.Task[CleanResult] | None = None
        self._cancelled = False
        self._ticks: set[asyncio.Future[None]] = set()

    def progress(self) -> JobProgress:
        """Rows read so far as ``accepted`` + ``rejected`` (kept and dropped) of ``target`` (the source's rows).

        ``rejected_by_reason`` counts the drops by ``operator:code``, ``rewrites`` the changes.
        """
        report = self.report
        return JobProgress(
            job_id=self.context.job_id,
            target=self.target,
            accepted=report.rows_out,
            rejected=report.rows_in - report.rows_out,
            rewrites=_changes(report),
            elapsed_s=self.context.elapsed_s + time.monotonic() - self._started,
            rejected_by_reason=dict(report.dropped_by_code()),
        )

    async def cancel(self) -> None:
        """Stop the cleaning: nothing is written (the version appears whole or not at all)."""
        self._cancelled = True
        if self._task is not None:
            self._task.cancel()

    async def run(self) -> JobSummary:
        """Clean the source into a new version; return the summary (``accepted`` = rows kept)."""
        from service.cleaning import CleaningTools

        request, engine = self.request, self.context.engine
        store = DatasetStore(engine.settings.data_dir)
        source = await asyncio.to_thread(store.resolve, request.source)
        self.target = source.rows
        chain = request.chain()
        pack = self.context.pack
        tools = CleaningTools(
            engine.settings, chain, request.into, engine=engine, resolve=self._resolver(pack), local=self.context.local
        )
        tools.concurrency = request.concurrency
        if self._cancelled:
            return self._summary("cancelled", "cancelled before it started")
        try:
            operators = tools.operators()
        except ChainError as exc:
            raise InvalidRequestError(str(exc)) from None
        try:
            executor = make_executor(request.executor, request.ray_address)
        except ValueError as exc:
            raise InvalidRequestError(str(exc)) from None
        cleaning = clean_version(
            store, source.ref, request.into, chain, operators, workers=request.workers, tag=request.tag,
            on_progress=self._on_progress, batch_rows=request.batch_rows, executor=executor,
        )  # fmt: skip
        self._task = asyncio.ensure_future(cleaning)
        try:
            result = await self._task
        except asyncio.CancelledError:
            if not self._cancelled:
                raise
            return self._summary("cancelled", "cancelled: no version was written")
        except (DatasetError, ExecutorError) as exc:
            raise InvalidRequestError(str(exc)) from None
        self.report, self.written_version = result.report, result.manifest.ref
        folder = store.folder(result.manifest) / REPORT_FILE
        reused = " (the same cleaning was done before: its version is returned)" if result.reused else ""
        return self._summary("completed", f"{result.manifest.ref}: report at {folder}{reused}")

    def _on_progress(self, report: CleanReport) -> None:
        """After every batch: keep the counters and tell the job's followers (SSE, throttled) how far it got."""
        self.report = report
        tick = asyncio.ensure_future(self.context.on_event(JobEvent(kind="progress", progress=self.progress())))
        self._ticks.add(tick)
        tick.add_done_callback(self._ticks.discard)

    def _resolver(self, pack: StylePack | None) -> Callable[[str], StylePack]:
        """Resolve the operators' style to the job's snapshot (the request's style: a name, alias or CLI path)."""

        def resolve(name: str) -> StylePack:
            if pack is not None and name in (self.request.style, pack.name, *pack.aliases):
                return pack
            raise ChainError(f"style {name!r} is not the job's style; give it as the request's style")

        return resolve

    def _summary(self, stop: StopReason, message: str) -> JobSummary:
        report = self.report
        kept = report.rows_out if stop == "completed" else 0
        return JobSummary(
            job_id=self.context.job_id,
            style=self.request.style or "",
            workspace="",
            target=self.target,
            accepted=kept,
            rejected=report.rows_in - report.rows_out,
            rejected_by_reason=dict(report.dropped_by_code()),
            rewrites=_changes(report),
            llm_calls=0,
            tokens={},
            total_tokens=0,
            calls_per_accepted=None,
            tokens_per_accepted=None,
            wall_s=round(self.context.elapsed_s + time.monotonic() - self._started, 3),
            stop_reason=stop,
            message=message,
        )


def _changes(report: CleanReport) -> int:
    """Return the changes every operator made so far (a row changed by two operators counts twice)."""
    return sum(sum(op.changed.values()) for op in report.operators)


CLEAN = CleanKind()
