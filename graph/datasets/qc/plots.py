"""The report's plots, drawn with matplotlib (no pyplot: a ``Figure`` per plot) as SVG text.

Text stays text in the SVG (``svg.fonttype: none``), so the reader's browser draws Chinese labels
with its own fonts; matplotlib needs no CJK font. Each plot takes one series per version (the
report's version first, then the one it is compared against) and draws them side by side or
overlaid in the same axes, with the same bins.
"""

from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Sequence
from typing import Any

import matplotlib
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from graph.datasets.qc import model as m

matplotlib.use("Agg")
COLOURS = ("#2563eb", "#ea580c")
CLUSTER_COLOURS = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
    "#393b79",
    "#637939",
)
_STYLE: Any = {  # matplotlib rcParams
    "svg.fonttype": "none",
    "font.family": ["Noto Sans CJK SC", "WenQuanYi Zen Hei", "DejaVu Sans", "sans-serif"],
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 10,
    "axes.titleweight": "bold",
}
logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)


def _svg(figure: Figure) -> str:
    buffer = io.StringIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Glyph missing from font": the browser draws those glyphs
        figure.savefig(buffer, format="svg")
    return buffer.getvalue()


def _figure(width: float, height: float) -> Figure:
    with matplotlib.rc_context(_STYLE):
        return Figure(figsize=(width, height), layout="constrained")


def histogram(title: str, series: Sequence[tuple[str, m.Histogram]], xlabel: str) -> str:
    """Overlay one histogram per version (same bins), with the pack's bounds as dashed lines."""
    with matplotlib.rc_context(_STYLE):
        figure = _figure(5.2, 2.6)
        axes = figure.subplots()
        for index, (label, hist) in enumerate(series):
            edges = np.asarray(hist.edges)
            counts = np.asarray(hist.counts, dtype=float)
            share = counts / max(1, hist.total)
            axes.stairs(
                share,
                edges,
                fill=index == 0,
                alpha=0.55 if index == 0 else 1.0,
                color=COLOURS[index],
                linewidth=1.6,
                label=f"{label} (median {hist.median or 0:.0f})",
            )
        bounds = series[0][1].bounds if series else None
        if bounds:
            for value, name in zip(bounds, ("min", "max"), strict=True):
                axes.axvline(value, color="#dc2626", linestyle="--", linewidth=1)
                axes.annotate(
                    f"pack {name} {value}",
                    (value, 1),
                    xycoords=("data", "axes fraction"),
                    fontsize=7,
                    color="#dc2626",
                    ha="left",
                    va="top",
                    rotation=90,
                )
        axes.set_title(title, loc="left")
        edges = np.asarray(series[0][1].edges) if series else np.empty(0)
        if edges.size and edges[0] % 1 == 0.5 and edges.size <= 16:  # one bin per integer: a tick on each
            axes.set_xticks((edges[:-1] + 0.5).astype(int))
        else:
            axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_xlabel(xlabel)
        axes.set_ylabel("share")
        axes.legend(fontsize=7, frameon=False)
        return _svg(figure)


def shares(title: str, series: Sequence[tuple[str, list[m.Share]]], limit: int = 8) -> str:
    """Horizontal bars of the largest classes, one bar per version per class."""
    names: list[str] = []
    for _, items in series:
        names += [s.name for s in items[:limit] if s.name not in names]
    names = names[:limit]
    with matplotlib.rc_context(_STYLE):
        figure = _figure(5.2, 0.5 + 0.28 * max(1, len(names)) * len(series))
        axes = figure.subplots()
        height = 0.8 / max(1, len(series))
        for index, (label, items) in enumerate(series):
            by_name = {s.name: s.share for s in items}
            positions = np.arange(len(names)) + index * height
            values = [by_name.get(name, 0.0) for name in names]
            axes.barh(positions, values, height=height, color=COLOURS[index], label=label)
            for y, value in zip(positions, values, strict=True):
                axes.text(value, y, f" {value:.0%}", va="center", fontsize=7)
        axes.set_yticks(np.arange(len(names)) + height * (len(series) - 1) / 2, [n[:40] for n in names])
        axes.invert_yaxis()
        axes.set_xlim(0, 1.12)
        axes.set_title(title, loc="left", pad=16 if len(series) > 1 else 6)
        if len(series) > 1:
            axes.legend(fontsize=7, frameon=False, loc="lower left", bbox_to_anchor=(0, 1.02, 1, 0.2), ncols=2)
        return _svg(figure)


def scores(series: Sequence[tuple[str, list[m.CriterionScores]]]) -> str:
    """One small panel per criterion: the share of rows at each score 1-5, the threshold dashed."""
    criteria: list[str] = []
    for _, items in series:
        criteria += [c.criterion for c in items if c.criterion not in criteria]
    columns = min(4, max(1, len(criteria)))
    rows = -(-len(criteria) // columns)
    with matplotlib.rc_context(_STYLE):
        figure = _figure(2.3 * columns, 1.9 * rows)
        grid = np.atleast_1d(figure.subplots(rows, columns, squeeze=False).ravel())
        width = 0.8 / max(1, len(series))
        for axes, criterion in zip(grid, criteria, strict=False):
            for index, (label, items) in enumerate(series):
                found = next((c for c in items if c.criterion == criterion), None)
                if found is None:
                    continue
                total = max(1, sum(found.counts.values()))
                values = [found.counts.get(score, 0) / total for score in range(1, 6)]
                axes.bar(
                    np.arange(1, 6) + (index - (len(series) - 1) / 2) * width,
                    values,
                    width=width,
                    color=COLOURS[index],
                    label=label,
                )
                if found.threshold and index == 0:
                    axes.axvline(found.threshold - 0.5, color="#dc2626", linestyle="--", linewidth=1)
            axes.set_title(criterion, loc="left")
            axes.set_xticks(range(1, 6))
            axes.set_ylim(0, 1)
        for axes in grid[len(criteria) :]:
            axes.set_visible(False)
        if len(series) > 1 and criteria:
            grid[0].legend(fontsize=7, frameon=False)
        return _svg(figure)


def topic_maps(series: Sequence[tuple[str, m.VersionReport]]) -> str:
    """The 2-D topic map of each version side by side, coloured by cluster, numbered at cluster centres."""
    with matplotlib.rc_context(_STYLE):
        figure = _figure(4.6 * len(series), 4.0)
        panels = np.atleast_1d(figure.subplots(1, len(series), squeeze=False).ravel())
        for axes, (label, report) in zip(panels, series, strict=True):
            points = np.array([[p.x, p.y] for p in report.map_points]) if report.map_points else np.empty((0, 2))
            clusters = np.array([p.cluster for p in report.map_points], dtype=int)
            colours = [CLUSTER_COLOURS[c % len(CLUSTER_COLOURS)] for c in clusters]
            axes.scatter(points[:, 0], points[:, 1], c=colours, s=9, alpha=0.75, linewidths=0)
            for cluster in np.unique(clusters):
                centre = points[clusters == cluster].mean(axis=0)
                axes.annotate(
                    str(cluster + 1),
                    centre,
                    fontsize=10,
                    fontweight="bold",
                    ha="center",
                    va="center",
                    bbox={"boxstyle": "circle,pad=0.2", "fc": "white", "ec": "#333", "lw": 0.8},
                )
            axes.set_title(f"{label}: {len(points)} rows", loc="left")
            axes.set_xticks([])
            axes.set_yticks([])
        return _svg(figure)
