"""Build the QC report of one version, or of a version against another (shared bins, one topic map)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from agents.embeddings import Embedder
from agents.styles import StylePack
from graph.datasets.qc import model as m
from graph.datasets.qc.balance import balance_of
from graph.datasets.qc.scan import Groups, SampledRow, VersionScan, scan_version
from graph.datasets.qc.terms import is_chinese, top_terms
from graph.datasets.qc.topics import embed_texts, near_duplicate_groups, topic_map
from graph.datasets.store import DatasetStore, RefLike
from graph.diversity import distinct_n, mean_pairwise_distance

DEFAULT_NEAR_DUPLICATE = 0.95
LENGTH_BINS = 30
MAX_GROUPS = 10


@dataclass(frozen=True)
class ReportOptions:
    """What to sample and which bounds to use.

    Attributes:
        text_sample: Rows whose text is segmented for the top terms and distinct-n.
        map_sample: Rows embedded for the topic map, the near-duplicate groups and the embedding spread
            (the first ``map_sample`` rows of the text sample); 0 skips them.
        balance_bound: Warn when one class holds more than this share of the rows (seed 001: 80%).
        near_duplicate: Cosine similarity at or above which two rows are near-duplicates
            (None: the pack's ``near_duplicate_similarity``, else 0.95, calibrated for e5).
        seed: Seeds the sample, the clusters and the projection.
    """

    text_sample: int = 5_000
    map_sample: int = 500
    balance_bound: float = 0.8
    near_duplicate: float | None = None
    seed: int = 0


def _shares(counter: Counter[str], total: int, unnamed: str = "(none)") -> list[m.Share]:
    ordered = sorted(counter.items(), key=lambda item: (-item[1], item[0]))
    return [
        m.Share(name=name or unnamed, count=count, share=count / total if total else 0.0) for name, count in ordered
    ]


def _edges(arrays: Sequence[np.ndarray], bound: int | None, integer: bool) -> np.ndarray:
    joined = np.concatenate([a for a in arrays if a.size] or [np.zeros(1)])
    high = float(np.percentile(joined, 99.5)) if joined.size else 1.0
    high = max(high, float(bound) * 1.1 if bound else 0.0, 1.0)
    if integer:
        return np.arange(max(0, int(joined.min())), int(high) + 2, dtype=float) - 0.5  # one bin per integer
    step = max(1.0, float(np.ceil(high / LENGTH_BINS)))
    return np.arange(0.0, step * (LENGTH_BINS + 1), step)


def _histogram(values: np.ndarray, edges: np.ndarray, bounds: tuple[int, int] | None = None) -> m.Histogram:
    counts, _ = np.histogram(np.clip(values, edges[0], edges[-1]), bins=edges)
    over = int(np.count_nonzero(values >= edges[-1]))
    if over:
        counts[-1] -= over
    stats = (
        {}
        if not values.size
        else {
            "mean": float(values.mean()),
            "median": float(np.median(values)),
            "p95": float(np.percentile(values, 95)),
        }
    )
    return m.Histogram(
        edges=edges.tolist(),
        counts=counts.astype(int).tolist(),
        over=over,
        total=int(values.size),
        bounds=bounds,
        **stats,
    )


def _groups(groups: Groups, limit: int = MAX_GROUPS) -> tuple[list[m.DuplicateGroup], int]:
    repeated = groups.repeated()
    extra_rows = sum(count - 1 for _, count in repeated)
    shown = [
        m.DuplicateGroup(size=count, ids=groups.ids[key], example=groups.examples[key][:300])
        for key, count in repeated[:limit]
    ]
    return shown, extra_rows


def _scores(scan: VersionScan, pack: StylePack | None) -> list[m.CriterionScores]:
    thresholds = pack.thresholds if pack else {}
    found = []
    for criterion in sorted(scan.scores, key=lambda name: (name not in thresholds, name)):
        counts = {score: scan.scores[criterion].get(score, 0) for score in range(1, 6)}
        total = sum(counts.values())
        threshold = thresholds.get(criterion)
        found.append(
            m.CriterionScores(
                criterion=criterion,
                counts=counts,
                threshold=threshold,
                mean=sum(s * n for s, n in counts.items()) / total if total else None,
                passing=sum(n for s, n in counts.items() if s >= threshold) / total if total and threshold else None,
            )
        )
    return found


def _version(scan: VersionScan, pack: StylePack | None, chinese: bool, options: ReportOptions) -> m.VersionReport:
    manifest, rows = scan.manifest, scan.rows
    exact, exact_rows = _groups(scan.exact)
    prompts, prompt_rows = _groups(scan.prompts)
    texts = scan.sample[: options.text_sample]
    user_texts = [row.user for row in texts]
    report = m.VersionReport(
        ref=manifest.ref,
        operation=manifest.operation,
        created_at=manifest.created_at,
        parents=manifest.parents,
        rows=rows,
        language="zh" if chinese else "en",
        styles=[s for s in scan.style if s],
        by_origin=_shares(scan.origin, rows),
        by_style=_shares(scan.style, rows),
        by_status=_shares(scan.status, rows),
        scores=_scores(scan, pack),
        scored_rows=scan.scored_rows,
        judge_prompts=_shares(scan.judge_prompts, rows),
        reject_reasons=_shares(scan.reject_reasons, rows),
        check_failures=_shares(scan.check_failures, rows),
        exact_duplicates=exact,
        exact_duplicate_rows=exact_rows,
        repeated_prompts=prompts,
        repeated_prompt_rows=prompt_rows,
        terms_sampled=len(texts),
        terms={
            "user": [m.Term(term=t, count=c) for t, c in top_terms(user_texts, chinese)],
            "assistant": [m.Term(term=t, count=c) for t, c in top_terms([r.assistant for r in texts], chinese)],
        },
        diversity=m.Diversity(
            sampled=len(texts), distinct_1=distinct_n(user_texts, 1), distinct_2=distinct_n(user_texts, 2)
        ),
    )
    return report


def _add_map(
    reports: list[m.VersionReport],
    per_version: list[list[SampledRow]],
    vectors: np.ndarray,
    embedder_name: str,
    chinese: bool,
    pack: StylePack | None,
    options: ReportOptions,
) -> None:
    """Add the map, near-duplicates and spread of every version's map sample (embedded together)."""
    texts = [row.user or row.assistant for rows in per_version for row in rows]
    fitted = topic_map(vectors, texts, chinese, options.seed)
    bound = options.near_duplicate or (pack.near_duplicate_similarity if pack else DEFAULT_NEAR_DUPLICATE)
    start = 0
    for report, rows in zip(reports, per_version, strict=True):
        end = start + len(rows)
        own = fitted.clusters[start:end]
        report.map_sampled, report.embedder = len(rows), embedder_name
        report.map_points = [
            m.MapPoint(x=float(x), y=float(y), cluster=int(c))
            for (x, y), c in zip(fitted.xy[start:end], own, strict=True)
        ]
        sizes = Counter(int(c) for c in own)
        report.clusters = [
            m.Cluster(
                index=i,
                size=sizes.get(i, 0),
                share=sizes.get(i, 0) / max(1, len(rows)),
                label=label,
                example=fitted.examples[i][:300],
            )
            for i, label in enumerate(fitted.labels)
        ]
        own_vectors = vectors[start:end]
        groups = near_duplicate_groups(own_vectors, bound)
        report.near_duplicate_bound = bound
        report.near_duplicate_rows = sum(len(g) - 1 for g in groups)
        report.near_duplicates = [
            m.DuplicateGroup(
                size=len(g),
                ids=[rows[i].id for i in g[:5]],
                example=(rows[g[0]].user or "")[:300],
                similarity=float(np.min((own_vectors[g] @ own_vectors[g].T)[np.triu_indices(len(g), 1)])),
            )
            for g in groups[:MAX_GROUPS]
        ]
        if report.diversity is not None and len(rows) > 1:
            report.diversity.mean_pairwise_distance = mean_pairwise_distance(own_vectors)
        start = end


def build_reports(
    store: DatasetStore,
    refs: Sequence[RefLike],
    *,
    embedder: Embedder | None = None,
    pack: StylePack | None = None,
    options: ReportOptions | None = None,
    job_rejections: dict[str, tuple[str, dict[str, int]]] | None = None,
) -> m.QCReport:
    """Compute the report of ``refs[0]`` (and of ``refs[1]`` beside it, for ``--against``).

    Args:
        store: The version store.
        refs: One or two versions.
        embedder: Embeds the map sample (None: no topic map, near-duplicates or embedding spread).
        pack: The style pack whose bounds and thresholds are drawn (None: none drawn).
        options: Sample sizes and bounds.
        job_rejections: By version ref, the id of the job that made it and that job's rejections by
            reason (the job's rejected samples are not rows of the version; the caller reads the job store).
    """
    options = options or ReportOptions()
    clock = _Clock()
    sample = max(options.text_sample, options.map_sample)
    scans = [scan_version(store, store.resolve(ref), sample, options.seed) for ref in refs]
    clock.lap("scan")
    chinese = is_chinese(row.user + row.assistant for scan in scans for row in scan.sample)
    reports = [_version(scan, pack, chinese, options) for scan in scans]
    clock.lap("terms")
    bounds = {
        "user": (pack.user_bounds.min_chars, pack.user_bounds.max_chars) if pack else None,
        "assistant": (pack.reply_bounds.min_chars, pack.reply_bounds.max_chars) if pack else None,
    }
    turn_edges = _edges([scan.turn_count_array() for scan in scans], None, integer=True)
    for role, role_bounds in bounds.items():
        edges = _edges([scan.char_array(role) for scan in scans], role_bounds[1] if role_bounds else None, False)
        for report, scan in zip(reports, scans, strict=True):
            report.chars[role] = _histogram(scan.char_array(role), edges, role_bounds)
    for report, scan in zip(reports, scans, strict=True):
        report.turns = _histogram(scan.turn_count_array(), turn_edges)
    if embedder is not None and options.map_sample > 0:
        per_version = [scan.sample[: options.map_sample] for scan in scans]
        vectors = embed_texts(embedder, [row.user or row.assistant for rows in per_version for row in rows])
        clock.lap("embed")
        _add_map(reports, per_version, vectors, embedder.name, chinese, pack, options)
        clock.lap("map")
    for report, scan in zip(reports, scans, strict=True):
        job_id, rejected = (job_rejections or {}).get(report.ref, (None, {}))
        report.job_id = job_id
        report.job_rejections = _shares(Counter(rejected), sum(rejected.values()) + report.rows)
        report.balance = balance_of(report, scan, options.balance_bound)
        report.warnings = [b.warning for b in report.balance if b.warning]
    return m.QCReport(versions=reports, seconds=round(clock.total(), 2), phases=clock.phases)


class _Clock:
    """Seconds spent in each phase of the build (report.json shows them; the benchmark prints them)."""

    def __init__(self) -> None:
        self.started = self.last = time.perf_counter()
        self.phases: dict[str, float] = {}

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.phases[name] = round(now - self.last, 3)
        self.last = now

    def total(self) -> float:
        return time.perf_counter() - self.started
