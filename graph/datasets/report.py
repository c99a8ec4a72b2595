"""Write a job's report: report.json (machine-readable) and report.md (for people)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agents.schemas import Sample
from graph.judge_stats import LEVELS, JudgeStats
from graph.progress import JobSummary

ANSWER_FAILURE_KINDS = ("draft_parse", "structure", "judge_parse")

STOP_EXPLANATIONS = {
    "completed": "reached the target",
    "budget_attempts": "stopped: the attempt budget ran out before the target",
    "budget_tokens": "stopped: the token budget ran out before the target",
    "deadline": "stopped: the deadline passed before the target",
    "cancelled": "stopped: cancelled",
    "errors": "stopped: repeated errors (LLM or embeddings; see the last error)",
    "exhausted": "stopped: the work source had nothing left",
}


def report_data(summary: JobSummary, samples: list[Sample], request: dict[str, Any]) -> dict[str, Any]:
    """Assemble the report: the request, the summary and one line per rejected sample."""
    rejected = [
        {"id": sample.id, "topic": sample.lineage.topic, "reason": sample.reject_reason, "rewrites": sample.rewrites}
        for sample in samples
        if sample.status == "rejected"
    ]
    accepted = [
        {"id": sample.id, "topic": sample.lineage.topic, "rewrites": sample.rewrites, "scores": _scores(sample)}
        for sample in samples
        if sample.status == "accepted"
    ]
    return {
        "request": request,
        "summary": summary.model_dump(mode="json"),
        "accepted": accepted,
        "rejected": rejected,
    }


def _scores(sample: Sample) -> dict[str, int]:
    verdict = sample.verdict
    return dict(verdict.scores) if verdict else {}


def _table(rows: list[tuple[str, str]]) -> list[str]:
    lines = ["| | |", "|---|---|"]
    lines.extend(f"| {key} | {value} |" for key, value in rows)
    return lines


def render_markdown(summary: JobSummary, samples: list[Sample], examples: int = 3) -> str:
    """Render the report for people: totals, rejections by reason, cost, diversity, examples."""
    diversity = summary.diversity
    rows = [
        ("style", summary.style),
        ("workspace", summary.workspace),
        ("accepted", f"{summary.accepted} / {summary.target}"),
        ("outcome", STOP_EXPLANATIONS.get(summary.stop_reason, summary.stop_reason)),
        ("rejected", str(summary.rejected)),
        ("rewrites", str(summary.rewrites)),
        ("LLM calls", f"{summary.llm_calls} ({_per(summary.calls_per_accepted)} per accepted sample)"),
        ("tokens", f"{summary.total_tokens} ({_per(summary.tokens_per_accepted)} per accepted sample)"),
        ("wall time", f"{summary.wall_s:.1f} s"),
        *_cost_rows(summary),
        ("models", ", ".join(f"{role}={name}" for role, name in summary.models.items())),
        ("judge", judge_in_force(summary)),
    ]
    if diversity:
        rows.append(("distinct-2 of user turns", f"{diversity.distinct_2:.3f}"))
        rows.append(("mean pairwise embedding distance", f"{diversity.mean_pairwise_distance:.3f}"))
        rows.append(("near-duplicate pairs", str(diversity.near_duplicates)))
    failures = summary.answer_failures
    rows.append(
        ("answer shape failures", ", ".join(f"{kind} {failures.get(kind, 0)}" for kind in ANSWER_FAILURE_KINDS))
    )
    lines = [f"# dialogforge report: job {summary.job_id}", "", *_table(rows), ""]
    if summary.message:
        lines += [f"Last error: {summary.message}", ""]
    lines += judge_section(summary.judge)
    if summary.rejected_by_reason:
        lines += ["## Rejected by reason", "", "| reason | samples |", "|---|---|"]
        ordered = sorted(summary.rejected_by_reason.items(), key=lambda item: -item[1])
        lines += [f"| {reason} | {count} |" for reason, count in ordered]
        lines.append("")
    accepted = [sample for sample in samples if sample.status == "accepted"][:examples]
    if accepted:
        lines += ["## Examples", ""]
        for sample in accepted:
            lines.append(f"**{sample.lineage.topic}** (scores {_scores(sample)}, rewrites {sample.rewrites})")
            lines.append("")
            lines += [f"> **{turn.role}**: {turn.content}" for turn in sample.turns]
            lines.append("")
    return "\n".join(lines)


def _cost_rows(summary: JobSummary) -> list[tuple[str, str]]:
    """The cost rows of the report (none when no price table was used)."""
    cost = summary.cost
    if cost is None:
        return []
    per = f"{cost.per_accepted_usd:.5f}" if cost.per_accepted_usd is not None else "n/a"
    rows = [("cost (USD)", f"{cost.total_usd:.4f} ({per} per accepted sample)")]
    rows += [
        (f"cost of rejected: {reason}", f"{usd:.5f}") for reason, usd in sorted(cost.rejected_by_reason_usd.items())
    ]
    if cost.unpriced_models:
        rows.append(("no price for", ", ".join(cost.unpriced_models)))
    return rows


def judge_section(stats: JudgeStats) -> list[str]:
    """Render what the judge did: its pass rate, what it sent to rewrite, score use per criterion."""
    lines = ["## Judge", "", stats.summary_line() + ".", ""]
    if stats.not_discriminating:
        lines += [
            f"**Not discriminating**: the judge passed {stats.pass_rate:.0%} of the drafts that reached it, so "
            "it is not deciding what enters the data set. Read samples by hand, or try another judge prompt "
            "or a stronger judge model.",
            "",
        ]
    if stats.score_use:
        lines += ["| criterion | " + " | ".join(LEVELS) + " |", "|---|" + "---|" * len(LEVELS)]
        for name, use in stats.score_use.items():
            lines.append(f"| {name} | " + " | ".join(str(use.get(level, 0)) for level in LEVELS) + " |")
        lines += ["", "(sampled scores over every judged draft, first drafts and rewrites)", ""]
    return lines


def judge_in_force(summary: JobSummary) -> str:
    """Return which judge prompt and pass thresholds the job used, e.g. ``anchored; empathy >= 4, style >= 4``."""
    thresholds = ", ".join(f"{name} >= {value}" for name, value in summary.thresholds.items())
    return f"{summary.judge_prompt or 'unknown'}; {thresholds or 'thresholds not recorded'}"


def _per(value: float | None) -> str:
    return f"{value:.1f}" if value is not None else "n/a"


def write_report(
    directory: Path, summary: JobSummary, samples: list[Sample], request: dict[str, Any]
) -> tuple[Path, Path]:
    """Write report.json and report.md into ``directory`` (created if needed)."""
    directory.mkdir(parents=True, exist_ok=True)
    json_path, md_path = directory / "report.json", directory / "report.md"
    data = report_data(summary, samples, request)
    json_path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    md_path.write_text(render_markdown(summary, samples), encoding="utf-8")
    return json_path, md_path
