"""Write the leaderboard: a Markdown table, a JSON file and a PNG chart with intervals and ceiling."""

from __future__ import annotations

import json
import math
import textwrap
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from evals.scoring import Estimate, Row

TABLE_METRICS = ("spearman", "kendall", "qwk", "exact", "within_one", "pairwise", "pairwise_ties")
HEADERS = {
    "spearman": "Spearman",
    "kendall": "Kendall",
    "qwk": "QWK",
    "exact": "exact",
    "within_one": "within-1",
    "pairwise": "pair acc",
    "pairwise_ties": "pair acc (ties)",
}
CHART_METRIC = "spearman"


def _cell(estimate: Estimate | None) -> str:
    if estimate is None or math.isnan(estimate.value):
        return "–"
    if math.isnan(estimate.low):
        return f"{estimate.value:.3f}" + (" (no interval: every resample constant)" if estimate.undefined else "")
    mark = "*" if estimate.undefined else ""
    return f"{estimate.value:.3f} [{estimate.low:.2f}, {estimate.high:.2f}]{mark}"


def score_use_line(row: Row) -> str:
    """Describe a judge's score use, e.g. ``1:25 4:28 5:8`` (a constant judge shows one level)."""
    return " ".join(f"{level}:{count}" for level, count in row.score_use.items() if count) or "–"


def notes(rows: Sequence[Row]) -> list[str]:
    """Footnotes: resamples with no value, and every judge's score use (why a metric may be missing)."""
    lines = []
    undefined = [
        f"{row.judge} ({row.dataset}) {name}: {est.undefined} of {est.resamples}"
        for row in rows
        for name, est in row.metrics.items()
        if est.undefined
    ]
    if undefined:
        lines += ["", "\\* resamples left out of the interval because the metric was undefined there "
                  "(constant scores in the resample): " + "; ".join(undefined)]  # fmt: skip
    judged = [row for row in sort_rows(rows) if row.score_use]
    if judged:
        lines += ["", "Score use (judge scores 1-5, weighted ones rounded) and length bias (Spearman of the "
                  "score with the reply's length; the ceiling row gives the humans' own):", ""]  # fmt: skip
        lines += ["| data set | judge | score use | length corr |", "|---|---|---|---|"]
        ceilings = {row.dataset: row for row in rows if row.judge == "human ceiling"}
        for row in [*ceilings.values(), *judged]:
            use = "–" if row.judge == "human ceiling" else score_use_line(row)
            lines.append(f"| {row.dataset} | {row.judge} | {use} | {_number(row.length_corr, 2)} |")
    return lines


def _number(value: float, digits: int) -> str:
    return "–" if math.isnan(value) else f"{value:.{digits}f}"


def sort_rows(rows: Sequence[Row], metric: str = CHART_METRIC) -> list[Row]:
    """Order rows by data set, then the ceiling first, then the metric, best first."""

    def key(row: Row) -> tuple[str, int, float]:
        estimate = row.metrics.get(metric)
        value = estimate.value if estimate and not math.isnan(estimate.value) else -math.inf
        return row.dataset, 0 if row.judge == "human ceiling" else 1, -value

    return sorted(rows, key=key)


def markdown_table(rows: Sequence[Row]) -> str:
    """Render the leaderboard as one Markdown table (95% bootstrap intervals in brackets)."""
    metrics = [m for m in TABLE_METRICS if any(m in row.metrics for row in rows)]
    header = ["data set", "judge", "n", *(HEADERS[m] for m in metrics), "parse fail", "tokens/j", "s/j"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in sort_rows(rows):
        ceiling = row.judge == "human ceiling"
        cells = [
            row.dataset,
            f"*{row.judge}*" if ceiling else row.judge,
            f"{row.scored}/{row.items}",
            *(_cell(row.metrics.get(m)) for m in metrics),
            "–" if ceiling else f"{row.parse_failure_rate:.1%}",
            "–" if ceiling else _number(row.tokens_per_judgement, 0),
            "–" if ceiling else _number(row.seconds_per_judgement, 2),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_json(rows: Sequence[Row], path: Path, meta: dict[str, object]) -> None:
    """Write every row with all metrics and intervals, plus run metadata."""
    payload = {"meta": meta, "rows": [asdict(row) for row in sort_rows(rows)]}
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False, allow_nan=True), encoding="utf-8")


def write_chart(rows: Sequence[Row], path: Path, metric: str = CHART_METRIC, criterion: str = "empathy") -> None:
    """Draw one horizontal bar panel per data set: the metric with its interval, the ceiling as a band."""
    datasets = sorted({row.dataset for row in rows})
    judges = [row for row in sort_rows(rows, metric) if row.judge != "human ceiling"]
    height = max(3.4, 0.55 * max((sum(r.dataset == d for r in judges) for d in datasets), default=1) + 1.6)
    figure, axes = plt.subplots(1, len(datasets), figsize=(6.2 * len(datasets), height), squeeze=False)
    for axis, dataset in zip(axes[0], datasets, strict=True):
        mine = [row for row in judges if row.dataset == dataset and metric in row.metrics][::-1]
        values = [row.metrics[metric] for row in mine]
        positions = list(range(len(mine)))
        errors = [
            [max(0.0, v.value - v.low) if not math.isnan(v.low) else 0.0 for v in values],
            [max(0.0, v.high - v.value) if not math.isnan(v.high) else 0.0 for v in values],
        ]
        colours = ["#9e9e9e" if row.judge.startswith("rule-baseline") else "#3b75af" for row in mine]
        axis.barh(positions, [v.value for v in values], xerr=errors, color=colours, capsize=4, height=0.6, zorder=2)
        for position, value in zip(positions, values, strict=True):
            if math.isnan(value.value):
                use = score_use_line(mine[position])
                axis.text(0.015, position, f"n/a (constant scores: {use})", va="center", fontsize=9, color="#777")
                continue
            upper = value.high if not math.isnan(value.high) else value.value
            axis.text(max(upper, 0) + 0.03, position, f"{value.value:.2f}", va="center", fontsize=9)
        ceiling = next((r for r in rows if r.dataset == dataset and r.judge == "human ceiling"), None)
        if ceiling and metric in ceiling.metrics:
            level = ceiling.metrics[metric].value
            axis.axvspan(level, 1.0, color="#f2c14e", alpha=0.18, label="above human ceiling", zorder=0)
            axis.axvline(
                level, color="#d08c00", linestyle="--", linewidth=1.5, label=f"human ceiling {level:.2f}", zorder=3
            )
            axis.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2, fontsize=8, frameon=False)
        axis.set_ylim(-0.6, len(mine) - 0.4)
        axis.set_yticks(positions, [row.judge.replace(" @ ", "\n@ ") for row in mine], fontsize=8)
        axis.set_xlim(min([0.0, *(v.low for v in values if not math.isnan(v.low))]) - 0.02, 1.0)
        axis.axvline(0, color="black", linewidth=0.8)
        axis.set_xlabel(f"{HEADERS.get(metric, metric)} vs human label (95% bootstrap CI)")
        axis.set_title(textwrap.fill(dataset, 42), fontsize=10)
        axis.grid(axis="x", alpha=0.3)
    figure.suptitle(f"Judge agreement with human {criterion} ratings", fontsize=11)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)


def write_report(rows: Sequence[Row], out_dir: Path, meta: dict[str, object]) -> dict[str, Path]:
    """Write leaderboard.md, leaderboard.json and leaderboard.png into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {kind: out_dir / f"leaderboard.{kind}" for kind in ("md", "json", "png")}
    command = str(meta.get("command", ""))
    body = [
        "# Judge leaderboard",
        "",
        f"Command: `{command}`" if command else "",
        "",
        markdown_table(rows),
        "",
        "Metrics: Spearman/Kendall (tau-b) on raw judge scores; QWK, exact and within-1 after mapping "
        "the judge's 1-5 linearly onto the human scale (rounded half up); pair acc over all item pairs "
        "the humans ranked differently (judge tie = 1/2), pair acc (ties) a 3-way match over all pairs. "
        "Brackets: 95% percentile bootstrap intervals over items. Human ceiling: each annotator vs the "
        "median of the other two, averaged over annotators.",
        *notes(rows),
    ]
    paths["md"].write_text("\n".join(body) + "\n", encoding="utf-8")
    write_json(rows, paths["json"], meta)
    write_chart(rows, paths["png"], criterion=str(meta.get("criterion") or "empathy"))
    return paths
