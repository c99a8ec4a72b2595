"""Does the judge catch samples no one should train on? Whole samples, their pack's rubric, pass/fail labels.

Each item of a verdict set is one dialogue labelled ``fail`` (a sample that must be rejected:
role confusion, thanks nobody gave, advice for the wrong person, an impossible promise, a reply
that ignores what was said) or ``good``, and the style pack whose full rubric judges it, exactly
as the engine's judge does in a job. Reported per language: how many failures the judge rejects
(recall) and how many good samples it passes. Verdicts are cached like judgements, so a rerun
costs nothing and an interrupted run resumes.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from langchain_core.language_models import BaseChatModel

from agents.judge_plan import JudgePlan, judge_sample
from agents.rendering import format_rubric
from agents.schemas import Turn, Verdict
from agents.styles import Criterion, resolve_style
from evals.cache import JudgementCache
from evals.datasets import DatasetError, read_rows, require_columns

Label = Literal["fail", "good"]
COLUMNS = ["id", "style", "language", "label", "kind", "user", "assistant"]


@dataclass(frozen=True)
class VerdictItem:
    """One labelled sample."""

    id: str
    style: str
    language: str
    label: Label
    kind: str
    turns: tuple[Turn, ...]


@dataclass(frozen=True)
class VerdictResult:
    """One item and the judge's verdict on it."""

    item: VerdictItem
    verdict: Verdict

    @property
    def correct(self) -> bool:
        """Whether the judge did what the label asks: reject a failure, pass a good sample."""
        return self.verdict.passed == (self.item.label == "good")


def load_verdict_set(path: Path) -> list[VerdictItem]:
    """Read a verdict set (JSONL or CSV with the columns ``id, style, language, label, kind, user, assistant``)."""
    rows = read_rows(path)
    if not rows:
        raise DatasetError(f"{path}: no rows")
    require_columns(rows, COLUMNS, path)
    items = []
    for number, row in enumerate(rows, start=1):
        label = row["label"].strip().lower()
        if label not in ("fail", "good"):
            raise DatasetError(f"{path}: row {number}, column 'label': {row['label']!r} is not fail or good")
        turns = (
            Turn(role="user", content=row["user"].strip()),
            Turn(role="assistant", content=row["assistant"].strip()),
        )
        items.append(VerdictItem(row["id"], row["style"], row["language"], label, row["kind"], turns))  # type: ignore[arg-type]
    return items


def item_rubric(item: VerdictItem, criteria: Collection[str] | None = None) -> list[Criterion]:
    """Return the rubric an item is judged on: its pack's, or only the named criteria of it."""
    rubric = resolve_style(item.style).rubric
    return [criterion for criterion in rubric if criteria is None or criterion.name in criteria]


def plan_version(plan: JudgePlan, item: VerdictItem, criteria: Collection[str] | None = None) -> str:
    """Return what identifies a verdict: the prompts, the rubric text as rendered, and the item."""
    pack = resolve_style(item.style)
    parts = [plan.describe(), *plan.digests().values(), format_rubric(item_rubric(item, criteria)), pack.system_prompt]
    parts += [f"{turn.role}:{turn.content}" for turn in item.turns]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:20]


async def run_verdicts(
    items: Sequence[VerdictItem],
    model: BaseChatModel,
    model_name: str,
    plan_for_item: dict[str, JudgePlan],
    cache: JudgementCache,
    *,
    concurrency: int = 4,
    criteria: Collection[str] | None = None,
) -> list[VerdictResult]:
    """Judge every item with its pack's rubric; cached verdicts are reused.

    Args:
        items: The labelled samples.
        model: The judge model.
        model_name: Its name (part of the cache key).
        plan_for_item: The judge plan of each item's style (by style name).
        cache: Where verdicts are read and written.
        concurrency: Judge calls in flight.
        criteria: Judge only these criteria of each pack's rubric (None: the whole rubric).
    """
    semaphore = asyncio.Semaphore(max(1, concurrency))

    async def one(item: VerdictItem) -> VerdictResult:
        plan = plan_for_item[item.style]
        key = plan_version(plan, item, criteria)
        cached = cache.get_verdict(key, model_name)
        if cached is not None:
            return VerdictResult(item, cached)
        pack = resolve_style(item.style)
        async with semaphore:
            rubric = item_rubric(item, criteria)
            verdict, _ = await judge_sample(model, plan, rubric, list(item.turns), pack.system_prompt)
        cache.put_verdict(key, model_name, verdict)
        return VerdictResult(item, verdict)

    return list(await asyncio.gather(*(one(item) for item in items)))


def summary_rows(results: Sequence[VerdictResult]) -> list[dict[str, object]]:
    """Per language (and all): failures rejected, good samples passed, unreadable verdicts."""
    rows = []
    for language in [*sorted({r.item.language for r in results}), "all"]:
        mine = [r for r in results if language in ("all", r.item.language)]
        failures = [r for r in mine if r.item.label == "fail"]
        good = [r for r in mine if r.item.label == "good"]
        rows.append(
            {
                "language": language,
                "failures_rejected": sum(not r.verdict.passed for r in failures),
                "failures": len(failures),
                "good_passed": sum(r.verdict.passed for r in good),
                "good": len(good),
                "unreadable": sum(r.verdict.error is not None for r in mine),
            }
        )
    return rows


def markdown(results: Sequence[VerdictResult], title: str) -> str:
    """Render the summary and one line per item (kind, verdict, scores, failing criteria)."""
    lines = [f"### {title}", "", "| language | failures rejected | good passed | unreadable |", "|---|---|---|---|"]
    for row in summary_rows(results):
        lines.append(
            f"| {row['language']} | {row['failures_rejected']}/{row['failures']} | "
            f"{row['good_passed']}/{row['good']} | {row['unreadable']} |"
        )
    lines += ["", "| item | kind | label | verdict | scores | failing |", "|---|---|---|---|---|---|"]
    for result in results:
        verdict = result.verdict
        outcome = "error" if verdict.error else ("pass" if verdict.passed else "reject")
        mark = "" if result.correct else " ✗"
        scores = " ".join(f"{name[:4]} {score}" for name, score in verdict.scores.items())
        lines.append(
            f"| {result.item.id} | {result.item.kind} | {result.item.label} | {outcome}{mark} | {scores} | "
            f"{', '.join(verdict.failing)} |"
        )
    return "\n".join(lines)


def write_verdicts(results: Sequence[VerdictResult], out: Path, title: str, meta: dict[str, object]) -> Path:
    """Write verdicts.md and verdicts.json (every verdict in full) into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "verdicts.md").write_text(markdown(results, title) + "\n", encoding="utf-8")
    payload = {
        "meta": meta,
        "summary": summary_rows(results),
        "items": [
            {"id": r.item.id, "label": r.item.label, "verdict": r.verdict.model_dump(mode="json")} for r in results
        ],
    }
    path = out / "verdicts.json"
    path.write_text(json.dumps(payload, ensure_ascii=False, indent=2), encoding="utf-8")
    return path
