"""Progress updates of jobs that make no samples: the throttle, and the clean command's live count."""

from __future__ import annotations

import asyncio
import io

from rich.console import Console

from graph.progress import JobProgress
from service.cli.clean_progress import LOG_EVERY_S, CleanProgressView, progress_line
from service.jobs.events import Throttle


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_the_throttle_sends_the_first_at_once_and_at_most_one_more_per_interval() -> None:
    sent: list[float] = []
    clock = Clock()
    throttle = Throttle(lambda: sent.append(clock.now), interval_s=0.05, clock=clock)
    throttle.offer()
    assert sent == [100.0]
    for _ in range(50):  # a burst inside the interval: one send is scheduled, none now
        throttle.offer()
    assert sent == [100.0]
    clock.now += 0.05
    await asyncio.sleep(0.1)  # the scheduled send fires at the end of the interval (the latest counters)
    assert sent == [100.0, 100.05]
    clock.now += 1.0
    throttle.offer()  # the interval has passed: at once
    assert len(sent) == 3
    clock.now += 0.01
    throttle.offer()
    throttle.close()  # the job ended: the pending send is dropped
    await asyncio.sleep(0.1)
    assert len(sent) == 3


def _progress(kept: int, dropped: int, target: int = 100) -> JobProgress:
    reasons = {"exact-dedup:exact_duplicate": dropped - dropped // 3, "pii:pii": dropped // 3} if dropped else {}
    return JobProgress(job_id="j", target=target, accepted=kept, rejected=dropped, rejected_by_reason=reasons)


def test_the_clean_command_logs_a_live_count_now_and_then_when_not_on_a_terminal() -> None:
    out = io.StringIO()
    clock = Clock()
    console = Console(file=out, force_terminal=False, width=200)
    with CleanProgressView(console, 100, clock=clock) as view:
        view.update(_progress(0, 0))  # nothing read yet: nothing to say
        view.update(_progress(18, 6))
        view.update(_progress(30, 9))  # too soon after the first line
        clock.now += LOG_EVERY_S
        view.update(_progress(40, 12))
        clock.now += LOG_EVERY_S
        view.update(_progress(88, 12))  # all read: the command's own result line follows
    lines = out.getvalue().splitlines()
    assert lines == [
        "cleaning: 24 of 100 rows read, kept 18, dropped 6 (exact-dedup:exact_duplicate 4, pii:pii 2)",
        "cleaning: 52 of 100 rows read, kept 40, dropped 12 (exact-dedup:exact_duplicate 8, pii:pii 4)",
    ]
    assert progress_line(_progress(5, 0)) == "cleaning: 5 of 100 rows read, kept 5, dropped 0"
