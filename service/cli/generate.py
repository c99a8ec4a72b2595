"""``dialogforge generate``: validate the request, run one job with a progress bar, write outputs."""

from __future__ import annotations

import asyncio
import signal
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import get_args

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from agents.llm import check_reachable
from agents.pricing import CostReport
from agents.prompting import DEFAULT_JUDGE_PROMPT, judge_prompt
from agents.schemas import Sample
from agents.styles import StylePack, resolve_style
from graph.datasets.export import ExportFormat, write_dataset_info, write_jsonl
from graph.datasets.report import STOP_EXPLANATIONS, write_report
from graph.progress import Budget, JobEvent, JobSummary
from graph.runner import JobRunner
from graph.state import LoopConfig
from service.cli.limits import limits_line
from service.engine import Engine
from service.settings import Settings

EXIT_INCOMPLETE = 3
MAX_N = 100_000


class UsageError(ValueError):
    """The request is wrong; the message says what to fix."""


@dataclass
class GenerateRequest:
    """A validated ``generate`` request."""

    pack: StylePack
    n: int
    fmt: ExportFormat
    output: Path
    report_dir: Path | None
    concurrency: int
    workspace: str
    seed: int | None
    budget: Budget
    loop: LoopConfig
    judge: str


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


def validate(
    style: str,
    n: int,
    fmt: str,
    output: Path,
    report_dir: Path | None,
    concurrency: int,
    max_rewrites: int,
    judge: str = DEFAULT_JUDGE_PROMPT,
) -> tuple[StylePack, ExportFormat]:
    """Check every option that can be checked without a model; raise UsageError on the first problem."""
    if not 1 <= n <= MAX_N:
        raise UsageError(f"-n must be between 1 and {MAX_N}, got {n}")
    formats = get_args(ExportFormat)
    if fmt not in formats:
        raise UsageError(f"unknown format {fmt!r}; choose one of: {', '.join(formats)}")
    if not 1 <= concurrency <= 64:
        raise UsageError(f"--concurrency must be between 1 and 64, got {concurrency}")
    if not 0 <= max_rewrites <= 10:
        raise UsageError(f"--max-rewrites must be between 0 and 10, got {max_rewrites}")
    judge_prompt(judge, allow_path=True)  # unknown judge prompt: PromptError lists the known ones
    check_writable(output, "output")
    if report_dir is not None:
        check_writable(report_dir, "report directory")
    return resolve_style(style), fmt  # type: ignore[return-value]


class ProgressView:
    """A rich progress bar fed by job events."""

    def __init__(self, console: Console, target: int) -> None:
        """Create the bar (not yet shown)."""
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("rejected {task.fields[rejected]}  rewrites {task.fields[rewrites]}"),
            TextColumn("tokens {task.fields[tokens]}  {task.fields[rate]:.1f}/min"),
            TimeElapsedColumn(),
            console=console,
        )
        self.task = self.progress.add_task("accepted", total=target, rejected=0, rewrites=0, tokens=0, rate=0.0)
        self.samples: list[Sample] = []
        self.console = console

    async def on_event(self, event: JobEvent) -> None:
        """Update the bar and keep every finished sample."""
        if event.sample is not None:
            self.samples.append(event.sample)
            if not self.console.is_terminal:  # no live bar in a log: one line per finished sample
                self.console.print(sample_line(event), highlight=False, soft_wrap=True)
        p = event.progress
        self.progress.update(
            self.task,
            completed=p.accepted,
            rejected=p.rejected,
            rewrites=p.rewrites,
            tokens=p.tokens,
            rate=p.rate_per_min,
        )


def sample_line(event: JobEvent) -> str:
    """Describe one finished sample in a single log line."""
    sample, p = event.sample, event.progress
    assert sample is not None
    outcome = "accepted" if sample.status == "accepted" else f"rejected ({sample.reject_reason})"
    return f"[{p.accepted}/{p.target}] {outcome}: {sample.lineage.topic} (rewrites {sample.rewrites})"


async def _run(engine: Engine, request: GenerateRequest, view: ProgressView) -> JobSummary:
    deps = engine.loop_deps(
        request.pack,
        request.workspace,
        judge=request.judge,
        judge_from_path=True,
        config=request.loop,
        seed=request.seed,
    )
    runner = JobRunner(deps, request.n, concurrency=request.concurrency, budget=request.budget, on_event=view.on_event)
    return await runner.run()


class Announcer:
    """Print the limits line first: before the engine's first message, or once it has started."""

    def __init__(self, err: Console, line: str) -> None:
        """Keep the line until it is printed."""
        self.err, self.line = err, line
        self.done = False

    def limits(self) -> None:
        """Print the limits line, once."""
        if not self.done:
            self.err.print(self.line, highlight=False, soft_wrap=True)
            self.done = True

    def notify(self, message: str) -> None:
        """Print one of the engine's start-up messages (after the limits line)."""
        self.limits()
        self.err.print(f"[dim]{message}[/dim]")


def run_generate(request: GenerateRequest, settings: Settings, console: Console) -> int:
    """Run the job and write the data set, dataset_info.json and the report; return the exit code."""
    err = Console(stderr=True)
    announce = Announcer(err, limits_line(settings, request.concurrency))
    engine = Engine.start(settings, notify=announce.notify)  # a bad embedder setting: only its error line
    announce.limits()
    try:
        if settings.llm_base_url and not engine.is_embedded:
            asyncio.run(check_reachable(engine.base_url, settings.llm_config().api_key, timeout=10))
        view = ProgressView(err, request.n)
        signal.signal(signal.SIGTERM, signal.default_int_handler)  # SIGTERM, like Ctrl-C, keeps what was made
        with view.progress:
            try:
                summary = asyncio.run(_run(engine, request, view))
            except KeyboardInterrupt:
                err.print("interrupted: writing what was accepted so far")
                summary = None
            except Exception:  # the error is reported by the caller; what was accepted is kept first
                count = _write_dataset(view, request)
                err.print(f"the job failed: wrote the {count} samples accepted before the error to {request.output}")
                raise
    finally:
        engine.stop()
    count = _write_dataset(view, request)
    if summary is None:
        console.print(f"wrote {count} accepted samples to {request.output} (interrupted)")
        return 130
    if request.report_dir is not None:
        write_report(request.report_dir, summary, view.samples, _request_dict(request))
    print_summary(console, summary, request, count)
    return 0 if summary.complete else EXIT_INCOMPLETE


def _write_dataset(view: ProgressView, request: GenerateRequest) -> int:
    """Write the accepted samples (and dataset_info.json beside them); return how many."""
    accepted = [sample for sample in view.samples if sample.status == "accepted"]
    count = write_jsonl(accepted, request.fmt, request.output)
    if request.fmt != "raw":  # raw is the audit dump, not a training format
        write_dataset_info(request.output.parent, request.output.stem, request.output.name, request.fmt)
    return count


def _request_dict(request: GenerateRequest) -> dict[str, object]:
    return {
        "style": request.pack.name,
        "n": request.n,
        "format": request.fmt,
        "output": str(request.output),
        "concurrency": request.concurrency,
        "workspace": request.workspace,
        "seed": request.seed,
        "budget": request.budget.model_dump(),
        "max_rewrites": request.loop.max_rewrites,
        "judge": request.judge,
    }


def cost_line(cost: CostReport) -> str:
    """Describe a job's cost in one line."""
    per = f"${cost.per_accepted_usd:.5f} per accepted" if cost.per_accepted_usd is not None else "nothing accepted"
    rejected = ", ".join(f"{reason} ${usd:.5f}" for reason, usd in sorted(cost.rejected_by_reason_usd.items()))
    line = f"cost ${cost.total_usd:.4f} ({per}" + (f"; spent on rejected: {rejected}" if rejected else "") + ")"
    if cost.unpriced_models:
        line += f"; no price for {', '.join(cost.unpriced_models)} (DIALOGFORGE_PRICES_FILE)"
    return line


def print_summary(console: Console, summary: JobSummary, request: GenerateRequest, written: int) -> None:
    """Print the end-of-job summary."""
    outcome = STOP_EXPLANATIONS.get(summary.stop_reason, summary.stop_reason)
    console.print(f"[bold]{summary.accepted}/{summary.target} accepted[/bold] ({outcome}) in {summary.wall_s:.1f} s")
    reasons = ", ".join(f"{reason} {count}" for reason, count in sorted(summary.rejected_by_reason.items()))
    console.print(
        f"rejected {summary.rejected}" + (f" ({reasons})" if reasons else "") + f", rewrites {summary.rewrites}"
    )
    per = f"{summary.calls_per_accepted:.1f}" if summary.calls_per_accepted else "n/a"
    cached = f", {summary.cache_hits} served from the call cache" if summary.cache_hits else ""
    console.print(f"LLM calls {summary.llm_calls} ({per} per accepted){cached}, tokens {summary.total_tokens}")
    if summary.cost is not None:
        console.print(cost_line(summary.cost), highlight=False)
    if summary.admission is not None:
        a = summary.admission
        console.print(f"LLM call limit at the end {a.limit} ({a.in_flight} in flight), 429/503 answers {a.throttled}")
    if summary.diversity:
        d = summary.diversity
        console.print(
            f"diversity: distinct-2 {d.distinct_2:.3f}, mean pairwise distance {d.mean_pairwise_distance:.3f}, "
            f"near-duplicate pairs {d.near_duplicates}"
        )
    if summary.message:
        console.print(f"last error: {summary.message}")
    console.print(f"wrote {written} samples ({request.fmt}) to {request.output}")
    if request.report_dir is not None:
        console.print(f"report: {request.report_dir / 'report.md'}")
    if not summary.complete:
        print(f"warning: only {summary.accepted} of {summary.target} samples were accepted", file=sys.stderr)
