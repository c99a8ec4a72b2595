"""How a chat job of each kind is shown: its start, its progress line, its end, and whether a file goes out.

One :class:`JobView` per job kind; the follower, the status answer and the dispatcher use the
view of the job's kind (``ChatJob.kind``) and never look at the kind themselves. Generate jobs
make samples and deliver them as a JSONL file; ``clean`` and ``augment`` write a new version of
the data set, so their end is a summary naming that version (no file).
"""

from __future__ import annotations

from collections import Counter
from typing import Protocol

from graph.progress import JobProgress, JobSummary
from service.chatops import texts
from service.chatops.store import ChatJob


class JobView(Protocol):
    """The words of one job kind."""

    delivers_file: bool

    def started(self, job: ChatJob) -> str:
        """Return the answer to the request: the job's id and how to follow it."""
        ...

    def waiting(self, job: ChatJob) -> str:
        """Return the progress message as first posted."""
        ...

    def progress(self, job: ChatJob, progress: JobProgress, state: str) -> str:
        """Return the progress line the bot keeps updating."""
        ...

    def summary(self, job: ChatJob, summary: JobSummary, version: str | None) -> str:
        """Return the end-of-job summary (``version``: the version the job wrote, if any)."""
        ...

    def cancelling(self, job: ChatJob) -> str:
        """Return the answer to a cancel: what happens to the work done so far."""
        ...


def _follow_hint(job_id: str) -> str:
    return f"Progress follows; `status {job_id}` or `cancel {job_id}`."


class GenerateView:
    """Samples of a style, delivered as a JSONL file."""

    delivers_file = True

    def started(self, job: ChatJob) -> str:
        """Return ``Started job …: n × style (format)``."""
        return texts.started_text(job.job_id, job.label, job.n, job.format)

    def waiting(self, job: ChatJob) -> str:
        """Return the queued line."""
        return texts.waiting_text(job.job_id, job.label, job.n)

    def progress(self, job: ChatJob, progress: JobProgress, state: str) -> str:
        """Return accepted/target, rejected, rewrites, tokens, time."""
        return texts.progress_text(job.job_id, job.label, progress, state)

    def summary(self, job: ChatJob, summary: JobSummary, version: str | None) -> str:
        """Return the generate summary."""
        return texts.summary_text(summary, job.format)

    def cancelling(self, job: ChatJob) -> str:
        """Samples in flight finish and are kept."""
        return f"Cancelling job `{job.job_id}`: samples in flight finish and are kept."


class CleanView:
    """A cleaning: rows read, kept and dropped; at the end rows in -> out and drops per operator."""

    delivers_file = False

    def started(self, job: ChatJob) -> str:
        """Return ``Started job …: cleaning ref``."""
        return f"Started job `{job.job_id}`: cleaning {job.label}. " + _follow_hint(job.job_id)

    def waiting(self, job: ChatJob) -> str:
        """Return the queued line."""
        return f"Job `{job.job_id}` (clean {job.label}, queued)"

    def progress(self, job: ChatJob, progress: JobProgress, state: str) -> str:
        """Return rows read of the source, kept, dropped, changes and time."""
        p = progress
        read = p.accepted + p.rejected
        return (
            f"Job `{job.job_id}` (clean {job.label}, {state}): *{read}/{p.target}* rows read · {p.accepted} kept · "
            f"{p.rejected} dropped · {p.rewrites} changes · {texts.duration(p.elapsed_s)}"
        )

    def summary(self, job: ChatJob, summary: JobSummary, version: str | None) -> str:
        """Return rows in -> out, dropped per operator, and the new version."""
        s = summary
        outcome = texts.STOP_WORDS.get(s.stop_reason, s.stop_reason)
        per_op: Counter[str] = Counter()
        for reason, count in s.rejected_by_reason.items():
            per_op[reason.split(":", 1)[0]] += count
        dropped = ", ".join(f"{op} {count}" for op, count in sorted(per_op.items())) or "none"
        lines = [
            f"*Job `{s.job_id}` {outcome}*: {job.label}: {s.target} rows in → {s.accepted} out.",
            f"Dropped: {s.rejected} ({dropped}) · changes: {s.rewrites} · time: {texts.duration(s.wall_s)}",
        ]
        lines.append(_version_line(s, version, "no row was kept"))
        return "\n".join(lines)

    def cancelling(self, job: ChatJob) -> str:
        """A cancelled cleaning writes nothing."""
        return f"Cancelling job `{job.job_id}`: no version is written (the cleaning is whole or not at all)."


class AugmentView:
    """An augmentation: children accepted of the most it can make; at the end the new version."""

    delivers_file = False

    def started(self, job: ChatJob) -> str:
        """Return ``Started job …: augmenting ref (up to n new samples)``."""
        return f"Started job `{job.job_id}`: augmenting {job.label} (up to {job.n} new samples). " + _follow_hint(
            job.job_id
        )

    def waiting(self, job: ChatJob) -> str:
        """Return the queued line."""
        return f"Job `{job.job_id}` (augment {job.label}, queued): *0/{job.n}* accepted"

    def progress(self, job: ChatJob, progress: JobProgress, state: str) -> str:
        """Return the generate line, labelled as an augmentation."""
        return texts.progress_text(job.job_id, f"augment {job.label}", progress, state)

    def summary(self, job: ChatJob, summary: JobSummary, version: str | None) -> str:
        """Return accepted per operator, rejected by reason, tokens, time, and the new version."""
        s = summary
        outcome = texts.STOP_WORDS.get(s.stop_reason, s.stop_reason)
        by_op = ", ".join(f"{op} {count}" for op, count in sorted(s.accepted_by_operator.items()))
        reasons = ", ".join(f"{reason} {count}" for reason, count in sorted(s.rejected_by_reason.items()))
        lines = [
            f"*Job `{s.job_id}` {outcome}*: {s.accepted}/{s.target} new samples from {job.label}"
            + (f" ({by_op})" if by_op else "")
            + ".",
            f"Rejected: {s.rejected}" + (f" ({reasons})" if reasons else "") + f" · rewrites: {s.rewrites}",
            f"Tokens: {s.total_tokens:,} · LLM calls: {s.llm_calls} · time: {texts.duration(s.wall_s)}",
        ]
        lines.append(_version_line(s, version, "no new sample was accepted"))
        return "\n".join(lines)

    def cancelling(self, job: ChatJob) -> str:
        """Children in flight finish; the accepted ones become a partial version."""
        return f"Cancelling job `{job.job_id}`: children in flight finish; the accepted ones become a partial version."


def _version_line(summary: JobSummary, version: str | None, nothing: str) -> str:
    """Return the line naming the new version, or why there is none (``nothing``: when nothing was accepted)."""
    if version:
        return f"New version: `{version}`"
    reason = nothing if summary.accepted == 0 or not summary.message else summary.message[:300]
    return f"No version was written: {reason}."


VIEWS: dict[str, JobView] = {"generate": GenerateView(), "clean": CleanView(), "augment": AugmentView()}


def view_of(job: ChatJob) -> JobView:
    """Return the view of a job's kind (a kind without one is shown like generate)."""
    return VIEWS.get(job.kind, VIEWS["generate"])


def status_text(
    job: ChatJob, state: str, progress: JobProgress, summary: JobSummary | None, version: str | None
) -> str:
    """Return a job's status in its kind's words: the summary once it ended, else the progress line."""
    view = view_of(job)
    return view.summary(job, summary, version) if summary is not None else view.progress(job, progress, state)
