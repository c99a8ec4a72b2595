"""What a QC report is built from, besides the rows: the pack whose bounds it draws, the jobs' rejections.

One place for the CLI (``dialogforge report``, ``review assign``) and the chat (``报告 <ref>``).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable, Iterable, Mapping

from agents.styles import StylePack
from graph.datasets.manifest import Manifest
from graph.progress import JobSummary

JobRejections = dict[str, tuple[str, dict[str, int]]]
"""Per version ref: the id of the job that wrote it and that job's rejections by reason."""


def share_cores_politely() -> None:
    """Let OpenMP threads sleep while they wait (set before scikit-learn or the embedder load it).

    The embedder and scikit-learn share the cores with whatever else runs: measured 1.5x faster
    embedding on a busy 2-core machine.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def most_common_pack(manifests: Iterable[Manifest], lookup: Callable[[str], StylePack | None]) -> StylePack | None:
    """Return the versions' most common style that ``lookup`` knows as a pack, or None."""
    counts: Counter[str] = Counter()
    for manifest in manifests:
        counts.update(manifest.lineage_counts.get("style", {}))
    for name, _ in counts.most_common():
        pack = lookup(name)
        if pack is not None:
            return pack
    return None


def writing_jobs(manifests: Iterable[Manifest]) -> dict[str, str]:
    """Return, for the versions a job wrote (manifest key ``job:<id>``), their ref and the job's id."""
    return {m.ref: m.key.split(":", 1)[1] for m in manifests if m.key and m.key.startswith("job:")}


def job_rejections(summaries: Mapping[str, tuple[str, JobSummary | None]]) -> JobRejections:
    """Return the rejections by reason of each version's job (ref -> (job id, its summary or None))."""
    return {
        ref: (job_id, dict(summary.rejected_by_reason))
        for ref, (job_id, summary) in summaries.items()
        if summary is not None
    }
