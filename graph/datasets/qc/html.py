"""Write report.html (self-contained: CSS inline, plots as inline SVG images, no script, no network) and report.json.

The page is rendered by Jinja2 with autoescaping on, so text from the data (dialogues, topics,
terms) is always escaped; the plots are SVG documents in ``data:`` image URLs, which a browser
never runs scripts from.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from graph.datasets.qc import model as m
from graph.datasets.qc import plots
from graph.datasets.qc.plots import CLUSTER_COLOURS, COLOURS

TEMPLATES = Path(__file__).parent / "templates"
_ENV = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined)


def _data_url(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def render_plots(report: m.QCReport) -> dict[str, str]:
    """Draw every plot of the report; each value is a ``data:`` URL of an SVG image."""
    versions = report.versions
    refs = [v.ref for v in versions]
    found: dict[str, str] = {
        "origin": plots.shares("Rows by origin", [(r, v.by_origin) for r, v in zip(refs, versions, strict=True)]),
        "turns": plots.histogram(
            "Turns per dialogue", [(r, v.turns) for r, v in zip(refs, versions, strict=True) if v.turns], "turns"
        ),
    }
    for role in ("user", "assistant"):
        series = [(r, v.chars[role]) for r, v in zip(refs, versions, strict=True) if role in v.chars]
        if series and series[0][1].total:
            found[f"chars_{role}"] = plots.histogram(f"Characters per {role} turn", series, "characters")
    if any(v.by_style and len(v.by_style) > 1 for v in versions):
        found["style"] = plots.shares("Rows by style", [(r, v.by_style) for r, v in zip(refs, versions, strict=True)])
    if any(v.scores for v in versions):
        found["scores"] = plots.scores([(r, v.scores) for r, v in zip(refs, versions, strict=True)])
    if any(v.reject_reasons for v in versions):
        found["rejects"] = plots.shares(
            "Rejected rows by reason", [(r, v.reject_reasons) for r, v in zip(refs, versions, strict=True)]
        )
    if any(v.job_rejections for v in versions):
        found["job_rejects"] = plots.shares(
            "Rejected by the job that made the version (share of all it finished)",
            [(r, v.job_rejections) for r, v in zip(refs, versions, strict=True)],
        )
    if any(v.map_points for v in versions):
        found["map"] = plots.topic_maps([(r, v) for r, v in zip(refs, versions, strict=True)])
    return {name: _data_url(svg) for name, svg in found.items()}


def _percent(part: int, whole: int) -> str:
    return f"{part / whole:.0%}" if whole else "–"


def cards(report: m.QCReport) -> list[tuple[str, list[str]]]:
    """Return the headline figures, one value per version: what a reader takes in first."""

    def median(hist: m.Histogram | None) -> str:
        return f"{hist.median:.0f}" if hist is not None and hist.median is not None else "–"

    def largest(v: m.VersionReport) -> str:
        best = max(v.clusters, key=lambda c: c.share, default=None)
        return f"{best.share:.0%}" if best else "–"

    versions = report.versions
    return [
        ("rows", [f"{v.rows:,}" for v in versions]),
        ("median turns", [median(v.turns) for v in versions]),
        ("median reply characters", [median(v.chars.get("assistant")) for v in versions]),
        ("judge-scored rows", [_percent(v.scored_rows, v.rows) for v in versions]),
        ("exact duplicate rows", [_percent(v.exact_duplicate_rows, v.rows) for v in versions]),
        ("near-duplicates (mapped rows)", [_percent(v.near_duplicate_rows, v.map_sampled) for v in versions]),
        ("distinct-2 of user turns", [f"{v.diversity.distinct_2:.2f}" if v.diversity else "–" for v in versions]),
        ("largest topic cluster", [largest(v) for v in versions]),
    ]


def render_html(report: m.QCReport) -> str:
    """Render the report page."""
    context: dict[str, Any] = {
        "report": report,
        "versions": report.versions,
        "plots": render_plots(report),
        "cards": cards(report),
        "colours": COLOURS,
        "cluster_colours": CLUSTER_COLOURS,
    }
    return _ENV.get_template("report.html.j2").render(**context)


def write_report(report: m.QCReport, directory: Path) -> tuple[Path, Path]:
    """Write report.html and report.json into ``directory`` (created if needed); return their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    html_path, json_path = directory / "report.html", directory / "report.json"
    json_path.write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")
    html_path.write_text(render_html(report), encoding="utf-8")
    return html_path, json_path
