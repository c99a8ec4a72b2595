"""What ``dialogforge generate`` shows while a job runs and when it ends: a progress bar and a summary."""

from __future__ import annotations

import sys
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from agents.pricing import CostReport
from agents.schemas import Sample, TokenUsage
from graph.datasets.export import ExportFormat
from graph.datasets.report import ANSWER_FAILURE_KINDS, STOP_EXPLANATIONS, judge_in_force
from graph.progress import JobProgress, JobSummary
from service.jobs.models import JobRecord


class ProgressView:
    """A rich progress bar fed by job updates; a log line per finished sample when not on a terminal.

    It is also the job manager's observer (``on_sample``), which is how it sees each sample.
    """

    def __init__(self, console: Console, progress: JobProgress) -> None:
        """Create the bar (not yet shown), starting from the job's stored progress."""
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("rejected {task.fields[rejected]}  rewrites {task.fields[rewrites]}"),
            TextColumn("tokens {task.fields[tokens]}  {task.fields[rate]:.1f}/min"),
            TimeElapsedColumn(),
            console=console,
        )
        self.task = self.progress.add_task(
            "accepted", total=progress.target, rejected=0, rewrites=0, tokens=0, rate=0.0
        )
        self.console = console
        self.accepted, self.target = progress.accepted, progress.target
        self.show(progress)

    def show(self, p: JobProgress) -> None:
        """Move the bar to these counters."""
        self.progress.update(
            self.task,
            completed=p.accepted,
            rejected=p.rejected,
            rewrites=p.rewrites,
            tokens=p.tokens,
            rate=p.rate_per_min,
        )

    def on_sample(self, sample: Sample) -> None:
        """Count a finished sample; print its line when the output is a log, not a terminal."""
        self.accepted += sample.status == "accepted"
        if not self.console.is_terminal:
            self.console.print(sample_line(sample, self.accepted, self.target), highlight=False, soft_wrap=True)

    def on_job_end(self, record: JobRecord) -> None:
        """Nothing to do: the summary is printed once the job's outputs are written."""

    def on_usage(self, tokens: dict[str, TokenUsage]) -> None:
        """Nothing to do: the CLI makes no calls outside its job."""


def sample_line(sample: Sample, accepted: int, target: int) -> str:
    """Describe one finished sample in a single log line."""
    outcome = "accepted" if sample.status == "accepted" else f"rejected ({sample.reject_reason})"
    return f"[{accepted}/{target}] {outcome}: {sample.lineage.topic} (rewrites {sample.rewrites})"


def cost_line(cost: CostReport) -> str:
    """Describe a job's cost in one line."""
    per = f"${cost.per_accepted_usd:.5f} per accepted" if cost.per_accepted_usd is not None else "nothing accepted"
    rejected = ", ".join(f"{reason} ${usd:.5f}" for reason, usd in sorted(cost.rejected_by_reason_usd.items()))
    line = f"cost ${cost.total_usd:.4f} ({per}" + (f"; spent on rejected: {rejected}" if rejected else "") + ")"
    if cost.unpriced_models:
        line += f"; no price for {', '.join(cost.unpriced_models)} (DIALOGFORGE_PRICES_FILE)"
    return line


def print_summary(
    console: Console, summary: JobSummary, fmt: ExportFormat, output: Path, written: int, report: Path | None
) -> None:
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
    failures = summary.answer_failures
    console.print(
        "answer shape failures: " + ", ".join(f"{kind} {failures.get(kind, 0)}" for kind in ANSWER_FAILURE_KINDS)
    )
    console.print(summary.judge.summary_line(), highlight=False)
    console.print(f"judge: {judge_in_force(summary)}", highlight=False)
    if summary.cost is not None:
        console.print(cost_line(summary.cost), highlight=False)
    for stage, stats in (summary.batches or {}).items():
        fallback = f", {stats.live_fallbacks} made live after the deadline" if stats.live_fallbacks else ""
        console.print(
            f"batch {stage}: {stats.requests} calls in {stats.batches} batches, {stats.answered} answered{fallback}"
        )
    if summary.executor is not None:
        ex = summary.executor
        console.print(f"ray: {ex.workers} workers on {ex.nodes} node(s), {ex.retried_units} samples retried elsewhere")
    if summary.admission is not None:
        a = summary.admission
        console.print(f"LLM call limit at the end {a.limit} ({a.in_flight} in flight), 429/503 answers {a.throttled}")
    if summary.diversity:
        console.print(f"diversity: {summary.diversity.summary_line()}")
    if summary.message:
        console.print(f"last error: {summary.message}")
    console.print(f"wrote {written} samples ({fmt}) to {output}")
    if report is not None:
        console.print(f"report: {report / 'report.md'}")
    if not summary.complete:
        print(f"warning: only {summary.accepted} of {summary.target} samples were accepted", file=sys.stderr)
