"""Class balance: how rows split over style, planned topic and topic cluster, with seed 001's warning.

Seed 001 ("某类问题占比>80%": one kind of question holds more than 80% of the rows) says to
re-balance by over- or under-sampling. A dimension is shown when it has at least two classes; a
warning is raised when its largest class holds more than the bound. Planned topics count only
when they repeat (generated rows usually each have their own topic, and a split into singletons
says nothing about balance); the topic clusters of the map stand in for topics everywhere else.
"""

from __future__ import annotations

from collections import Counter

from graph.datasets.qc import model as m
from graph.datasets.qc.scan import VersionScan

TOP_CLASSES = 12


def _balance(dimension: str, counter: Counter[str], bound: float, what: str) -> m.Balance | None:
    named = {name: count for name, count in counter.items() if name}
    total = sum(named.values())
    if len(named) < 2 or total == 0:
        return None
    ordered = sorted(named.items(), key=lambda item: (-item[1], item[0]))
    classes = [m.Share(name=name, count=count, share=count / total) for name, count in ordered[:TOP_CLASSES]]
    largest = classes[0]
    warning = None
    if largest.share > bound:
        warning = (
            f"{dimension}: {largest.name!r} holds {largest.share:.0%} of {what} (bound {bound:.0%}); "
            "re-balance (over-sample the others or under-sample it)"
        )
    return m.Balance(dimension=dimension, classes=classes, largest=largest, bound=bound, warning=warning)


def balance_of(report: m.VersionReport, scan: VersionScan, bound: float) -> list[m.Balance]:
    """Return the balance of every dimension that has two classes or more."""
    found = [_balance("style", scan.style, bound, "the rows")]
    named_topics = {topic: count for topic, count in scan.topic.items() if topic}
    if named_topics and len(named_topics) <= max(2, sum(named_topics.values()) // 2):
        found.append(_balance("topic", Counter(named_topics), bound, "the rows"))
    if report.clusters:
        clusters = Counter({f"{c.index + 1}: {c.label}": c.size for c in report.clusters})
        found.append(_balance("topic cluster", clusters, bound, f"the {report.map_sampled} mapped rows"))
    return [item for item in found if item is not None]
