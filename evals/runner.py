"""Run every judge over every response with bounded concurrency, a progress bar and the cache."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from agents.styles import Criterion
from evals.cache import CacheKey, JudgementCache
from evals.judges import Judge, Judgement

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Response:
    """One distinct response to judge (deduplicated by ``key``)."""

    key: str
    text: str
    context: str = ""


def judge_label(judge: Judge) -> str:
    """Return a judge's leaderboard name: ``prompt @ model``."""
    return f"{judge.name} @ {judge.model}"


def weighted_label(label: str) -> str:
    """Return the leaderboard name of a judge's probability-weighted scores: ``prompt+weighted @ model``."""
    name, _, model = label.partition(" @ ")
    return f"{name}+weighted @ {model}"


def judge_version(judge: Judge, criterion: Criterion) -> str:
    """Return the cache version of a judge's answers for a criterion (its own rule when it has one)."""
    version_for = getattr(judge, "version_for", None)
    return str(version_for(criterion)) if callable(version_for) else judge.version


@dataclass
class RunResult:
    """Judgements by judge label and response key, and what the run cost."""

    judgements: dict[str, dict[str, Judgement]] = field(default_factory=dict)
    cached: int = 0
    called: int = 0
    errors: list[str] = field(default_factory=list)


def unique_responses(responses: Sequence[Response]) -> list[Response]:
    """Drop repeated responses (same text and context), keeping the first."""
    seen: dict[str, Response] = {}
    for response in responses:
        seen.setdefault(response.key, response)
    return list(seen.values())


async def run_judges(
    responses: Sequence[Response],
    judges: Sequence[Judge],
    criterion: Criterion,
    cache: JudgementCache,
    *,
    concurrency: int = 4,
    show_progress: bool = True,
) -> RunResult:
    """Judge every response with every judge, reading and writing the cache.

    Cached judgements cost nothing; new ones are written as each completes, so an interrupted run
    resumes where it stopped. A call that raises (server down, timeout) is logged and left out,
    uncached, so the next run retries it.

    Args:
        responses: What to judge.
        judges: The judges under test.
        criterion: The one rubric criterion to score.
        cache: The judgement cache.
        concurrency: At most this many judge calls in flight.
        show_progress: Draw a rich progress bar.
    """
    result = RunResult({judge_label(judge): {} for judge in judges})
    semaphore = asyncio.Semaphore(max(1, concurrency))
    todo: list[tuple[Judge, Response, CacheKey]] = []
    for response in unique_responses(responses):  # item-major: every judge advances evenly
        for judge in judges:
            key = CacheKey(judge_version(judge, criterion), judge.model, response.key, criterion.name)
            hit = cache.get(key)
            if hit is None:
                todo.append((judge, response, key))
            else:
                result.judgements[judge_label(judge)][response.key] = hit
                result.cached += 1

    with Progress(
        TextColumn("[bold]judging"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.description}"),
        disable=not show_progress,
    ) as progress:
        task = progress.add_task(f"{result.cached} cached", total=len(todo))

        async def one(judge: Judge, response: Response, key: CacheKey) -> None:
            async with semaphore:
                try:
                    judgement = await judge.judge(response.text, response.context, criterion)
                except Exception as exc:  # a failed call must not end the whole run
                    message = f"{judge_label(judge)} on {response.key}: {type(exc).__name__}: {exc}"
                    logger.warning("judge call failed: %s", message)
                    result.errors.append(message)
                else:
                    cache.put(key, judge.name, judgement)
                    result.judgements[judge_label(judge)][response.key] = judgement
                    result.called += 1
            progress.advance(task)

        await asyncio.gather(*(one(judge, response, key) for judge, response, key in todo))
    return result
