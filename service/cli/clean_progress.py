"""What ``dialogforge clean`` shows while the job runs: a live count of rows read, kept and dropped.

On a terminal it is a progress bar over the source's rows; otherwise (a log, CI) one line every
``LOG_EVERY_S`` seconds while the count moves, e.g.
``cleaning: 20000 of 100000 rows read, kept 19400, dropped 600 (exact-dedup:exact_duplicate 410, ...)``.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from graph.progress import JobProgress

LOG_EVERY_S = 10.0
TOP_REASONS = 3


def progress_line(progress: JobProgress) -> str:
    """Describe a clean job's counters in one line (the three most frequent reasons for dropping)."""
    read = progress.accepted + progress.rejected
    line = f"cleaning: {read} of {progress.target} rows read, kept {progress.accepted}, dropped {progress.rejected}"
    reasons = sorted(progress.rejected_by_reason.items(), key=lambda item: -item[1])[:TOP_REASONS]
    if reasons:
        more = ", ..." if len(progress.rejected_by_reason) > TOP_REASONS else ""
        line += " (" + ", ".join(f"{reason} {count}" for reason, count in reasons) + more + ")"
    return line


class CleanProgressView:
    """The live count of one clean job on stderr: a bar on a terminal, a line now and then in a log."""

    def __init__(self, console: Console, total: int, clock: Callable[[], float] = time.monotonic) -> None:
        """Prepare the view over ``total`` source rows (shown between ``with`` enter and exit)."""
        self.console, self.clock = console, clock
        self.bar = Progress(
            TextColumn("cleaning"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("kept {task.fields[kept]}  dropped {task.fields[dropped]}"),
            TimeElapsedColumn(),
            console=console,
            disable=not console.is_terminal,
        )
        self.task = self.bar.add_task("clean", total=total, kept=0, dropped=0)
        self._logged_at: float | None = None
        self._logged_read = 0

    def __enter__(self) -> CleanProgressView:
        self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()

    def update(self, progress: JobProgress) -> None:
        """Show these counters (in a log: only when they moved and ``LOG_EVERY_S`` has passed)."""
        read = progress.accepted + progress.rejected
        if self.console.is_terminal:
            self.bar.update(self.task, completed=read, kept=progress.accepted, dropped=progress.rejected)
            return
        now = self.clock()
        due = self._logged_at is None or now - self._logged_at >= LOG_EVERY_S
        if read > self._logged_read and read < progress.target and due:
            self.console.print(progress_line(progress), highlight=False, soft_wrap=True)
            self._logged_at, self._logged_read = now, read
