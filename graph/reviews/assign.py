"""Draw the items to review: a stratified sample of a version, dealt into per-reviewer queues.

Strata are (origin, style, judge-score band, topic cluster). The sample is allocated to strata in
proportion to their size (largest remainders; every stratum with rows keeps at least its fair
share rounded), drawn at random within each (seeded). With ``overlap``, that share of the items
goes to two reviewers (the pairs rotate, so each pair of reviewers shares items and every
reviewer gets about the same load); the rest to one. Each queue interleaves the strata, so
stopping early still leaves a stratified sample reviewed.

Topic clusters come from embedding a pool of candidate rows (k-means, as in the QC report's map);
the pool is the whole version when it is small, else a random pool of ``max_pool`` rows that the
sample is drawn from (a random pool keeps the strata's proportions).
"""

from __future__ import annotations

import itertools
import json
import math
from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from agents.embeddings import Embedder
from agents.schemas import Sample
from graph.datasets.manifest import Manifest
from graph.datasets.store import DatasetStore
from graph.reviews.errors import InvalidDecisionError
from graph.reviews.model import Assignment

STRATA = ("origin", "style", "band", "cluster")
MAX_POOL = 3_000
MAX_EMBEDDED = 5_000


@dataclass(frozen=True)
class Candidate:
    """A row that may be drawn, with its stratum."""

    sample_id: str
    stratum: tuple[str, ...]


def score_band(attempts_json: str | None) -> str:
    """Return the band of the row's last judge verdict: ``none``, ``low`` (<3), ``mid`` (<4) or ``high``."""
    if not attempts_json or '"scores": {"' not in attempts_json:
        return "none"
    for attempt in reversed(json.loads(attempts_json)):
        verdict = attempt.get("verdict")
        if verdict and verdict.get("scores"):
            mean = sum(verdict["scores"].values()) / len(verdict["scores"])
            return "low" if mean < 3 else "mid" if mean < 4 else "high"
    return "none"


def _pool(store: DatasetStore, manifest: Manifest, size: int, seed: int) -> tuple[list[dict[str, str]], list[str]]:
    """Read the pool's rows: ids, origin, style, band and the opening text (for clustering)."""
    wanted = set(np.random.default_rng(seed).permutation(manifest.rows)[:size].tolist())
    rows, texts, offset = [], [], 0
    for batch in store.iter_batches(manifest, 20_000, columns=("id", "turns", "lineage", "attempts")):
        positions = [i for i in range(batch.num_rows) if offset + i in wanted]
        offset += batch.num_rows
        if not positions:
            continue
        picked = batch.take(pa.array(positions))
        lineage = picked.column("lineage")
        opening = pc.struct_field(pc.list_element(picked.column("turns"), 0), "content").to_pylist()
        for row_id, origin, style, attempts, text in zip(
            picked.column("id").to_pylist(),
            lineage.field("origin").to_pylist(),
            lineage.field("style").to_pylist(),
            picked.column("attempts").to_pylist(),
            opening,
            strict=True,
        ):
            rows.append({"id": row_id, "origin": origin or "", "style": style or "", "band": score_band(attempts)})
            texts.append(text or "")
    return rows, texts


def candidates(
    store: DatasetStore,
    manifest: Manifest,
    strata: tuple[str, ...] = STRATA,
    embedder: Embedder | None = None,
    *,
    max_pool: int = MAX_POOL,
    seed: int = 0,
) -> list[Candidate]:
    """Return the pool of candidate rows with their strata.

    Clusters need ``embedder`` and a pool of at most ``MAX_EMBEDDED`` rows (embedding more would
    take minutes); otherwise every row's cluster is "".
    """
    unknown = [name for name in strata if name not in STRATA]
    if unknown:
        raise InvalidDecisionError(f"unknown strata {', '.join(unknown)}; use some of {', '.join(STRATA)}")
    rows, texts = _pool(store, manifest, min(manifest.rows, max_pool), seed)
    if "cluster" in strata and embedder is not None and 4 <= len(rows) <= MAX_EMBEDDED:
        from sklearn.cluster import KMeans

        from graph.datasets.qc.topics import cluster_count, embed_texts

        vectors = embed_texts(embedder, texts)
        labels = KMeans(n_clusters=cluster_count(len(rows)), n_init=4, random_state=seed).fit(vectors).labels_
        for row, label in zip(rows, labels, strict=True):
            row["cluster"] = f"c{int(label) + 1}"
    return [Candidate(row["id"], tuple(row.get(name, "") for name in strata)) for row in rows]


def allocate(sizes: dict[tuple[str, ...], int], total: int) -> dict[tuple[str, ...], int]:
    """Split ``total`` over strata in proportion to their sizes (largest remainders, ties by name)."""
    population = sum(sizes.values())
    exact = {key: total * size / population for key, size in sizes.items()} if population else {}
    quota = {key: math.floor(value) for key, value in exact.items()}
    left = total - sum(quota.values())
    for key in sorted(exact, key=lambda k: (-(exact[k] - quota[k]), k))[:left]:
        quota[key] += 1
    return quota


def draw(pool: list[Candidate], count: int, seed: int = 0) -> list[Candidate]:
    """Draw a stratified sample of ``count`` candidates, strata interleaved in the returned order."""
    rng = np.random.default_rng(seed)
    groups: dict[tuple[str, ...], list[Candidate]] = defaultdict(list)
    for candidate in pool:
        groups[candidate.stratum].append(candidate)
    quota = allocate({key: len(members) for key, members in groups.items()}, min(count, len(pool)))
    chosen: dict[tuple[str, ...], list[Candidate]] = {}
    for key in sorted(groups):
        members = groups[key]
        order = rng.permutation(len(members))[: quota[key]]
        chosen[key] = [members[i] for i in order]
    # interleave: the i-th of a stratum of size m sits at rank (i + 0.5) / m, so every prefix is balanced
    ranked = [(((i + 0.5) / len(items)), key, item) for key, items in chosen.items() for i, item in enumerate(items)]
    return [item for _, _, item in sorted(ranked, key=lambda entry: (entry[0], entry[1]))]


def deal(ref: str, drawn: list[Candidate], reviewers: list[str], overlap: float, seed: int = 0) -> list[Assignment]:
    """Deal drawn items into queues: ``overlap`` of them to two reviewers, the rest to one (balanced)."""
    if not reviewers:
        raise InvalidDecisionError("name at least one reviewer (--reviewers alice,bob)")
    if overlap > 0 and len(reviewers) < 2:
        raise InvalidDecisionError("--overlap needs at least two reviewers")
    rng = np.random.default_rng(seed + 1)
    doubled = set(rng.permutation(len(drawn))[: round(overlap * len(drawn))].tolist()) if overlap > 0 else set()
    pairs = itertools.cycle(list(itertools.combinations(reviewers, 2)) or [(reviewers[0], reviewers[0])])
    load: Counter[str] = Counter({name: 0 for name in reviewers})
    assignments = []
    for position, candidate in enumerate(drawn):
        stratum = "/".join(candidate.stratum)
        if position in doubled:
            names: list[str] = list(next(pairs))
        else:
            names = [min(reviewers, key=lambda name: (load[name], reviewers.index(name)))]
        for index, name in enumerate(names):
            load[name] += 1
            role = "first" if index == 0 else "second"
            assignments.append(
                Assignment(
                    ref=ref, sample_id=candidate.sample_id, reviewer=name, position=position, role=role, stratum=stratum
                )
            )
    return assignments


def fetch(store: DatasetStore, manifest: Manifest, ids: set[str]) -> list[Sample]:
    """Return the full samples of ``ids`` from a version (one pass, only matching rows converted)."""
    from graph.datasets.rows import batch_samples

    found: list[Sample] = []
    wanted = pa.array(sorted(ids), pa.string())
    for batch in store.iter_batches(manifest, 20_000):
        mask = pc.is_in(batch.column("id"), value_set=wanted)
        if pc.any(mask).as_py():
            found.extend(batch_samples(batch.filter(mask)))
    return found
