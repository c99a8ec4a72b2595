"""The ``augment`` job kind: operators over a version's rows, each child through the judge loop.

``POST /v1/jobs {"kind": "augment", "source": "cs@1", "ops": [{"op": "paraphrase"}], "into": "cs"}``
and ``dialogforge augment cs@1 --ops paraphrase --into cs`` build the same request and run it
here, through the job store: every finished child (accepted or rejected) is stored as it
finishes, so a killed or restarted job continues without making any child twice; the accepted
children (with the parents when ``into`` is the source's data set) become a version of ``into``
when the job ends, marked ``partial`` only when it was cancelled or a budget stopped it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field, field_validator

from agents.augment.registry import MAX_OPS, OperatorSpec, get_operator
from agents.schemas import Sample
from agents.styles import StylePack
from graph.datasets.manifest import Manifest
from graph.datasets.refs import check_name
from graph.datasets.store import DatasetStore
from service.jobs.errors import InvalidRequestError, StyleNotFoundError
from service.jobs.kinds.base import JobRequestBase, JobRun, RunContext

if TYPE_CHECKING:
    from service.jobs.models import Limits
    from service.jobs.styles import StyleRegistry

PEEK_ROWS = 200
MAX_PER_SAMPLE = 10


class AugmentJobRequest(JobRequestBase):
    """Grow a version: each operator makes ``per_sample`` children of every row, through the judge loop."""

    kind: Literal["augment"] = Field(description="The job kind.")
    source: str = Field(min_length=1, max_length=100, description="The version to augment: name, name@3 or name@v1.1.")
    into: str = Field(max_length=64, description="The data set that gets the new version.", examples=["cs"])
    ops: list[OperatorSpec] = Field(
        min_length=1,
        max_length=MAX_OPS,
        description='Operators with their parameters, e.g. [{"op": "paraphrase"}, {"op": "extend", "turns": 4}].',
    )
    style: str | None = Field(
        default=None,
        max_length=1024,
        description="Target style pack (default: the source's style; the command line also takes a file).",
    )
    per_sample: int = Field(default=1, ge=1, le=MAX_PER_SAMPLE, description="Children per row and operator.")
    max_rewrites: int = Field(default=2, ge=0, le=10, description="Rewrites per child before it is rejected.")
    max_parents: int | None = Field(default=None, ge=1, description="Augment only the first N rows.")
    with_parents: bool | None = Field(
        default=None, description="Keep the parents in the new version (default: when into is the source's data set)."
    )

    @field_validator("ops")
    @classmethod
    def _each_once(cls, ops: list[OperatorSpec]) -> list[OperatorSpec]:
        names = [spec.op for spec in ops]
        if len(set(names)) != len(names):
            raise ValueError(f"each operator at most once, got {', '.join(names)}")
        return ops

    def parents(self) -> list[str]:
        """The version the job reads."""
        return [self.source]

    def keeps_parents(self) -> bool:
        """Whether the new version holds the parents too."""
        if self.with_parents is not None:
            return self.with_parents
        return self.into == self.source.split("@", 1)[0]

    def target(self, rows: int) -> int:
        """The most children the job can make from a version of ``rows`` rows."""
        parents = rows if self.max_parents is None else min(rows, self.max_parents)
        return parents * len(self.ops) * self.per_sample


def source_pack(manifest: Manifest, styles: StyleRegistry) -> StylePack | None:
    """Return the version's most common style if it is a known pack."""
    counts = manifest.lineage_counts.get("style", {})
    for name, _ in sorted(counts.items(), key=lambda item: -item[1]):
        try:
            return styles.resolve(name)
        except StyleNotFoundError:
            continue
    return None


def peek(store: DatasetStore, ref: str) -> list[Sample]:
    """Return the first rows of a version (to refuse a version no operator can take, before any call)."""
    for batch in store.iter_samples(ref, batch_size=PEEK_ROWS):
        return batch
    return []


class AugmentKind:
    """How ``augment`` jobs are admitted and run."""

    name = "augment"
    request_type = AugmentJobRequest

    def target(self, request: AugmentJobRequest) -> int:
        """Return 0: the target follows from the source's row count, known once the run resolves it."""
        return 0

    def admit(
        self,
        request: AugmentJobRequest,
        limits: Limits,
        styles: StyleRegistry,
        *,
        pack: StylePack | None,
        local: bool,
    ) -> StylePack:
        """Pin the source version, resolve the target pack, refuse a version no operator can take.

        Raises:
            InvalidRequestError: Concurrency too high, a missing style, or rows no operator can take.
            DatasetError: The source version does not exist (the message lists the versions that do).
            StyleNotFoundError: The style is unknown.
        """
        if request.concurrency > limits.max_job_concurrency:
            raise InvalidRequestError(
                f"concurrency must be at most {limits.max_job_concurrency} on this server, got {request.concurrency}"
            )
        check_name(request.into)
        store = DatasetStore(styles.store.path.parent)
        source = store.resolve(request.source)
        request.source = source.ref  # a resumed job reads the same version, whatever was added since
        needing = [spec.op for spec in request.ops if get_operator(spec.op).needs_style]
        if needing and not request.style:
            raise InvalidRequestError(f"{', '.join(needing)} writes in a target style: give a style")
        target = pack or (styles.resolve(request.style) if request.style else source_pack(source, styles))
        if target is None:
            raise InvalidRequestError(f"{source.ref} names no known style pack: give a style")
        rows = peek(store, source.ref)
        if rows:
            ops = request.ops
            refusals = [(spec.op, get_operator(spec.op).refuse(row, spec, target)) for row in rows for spec in ops]
            if all(reason is not None for _, reason in refusals):
                op, reason = refusals[0]
                raise InvalidRequestError(f"{op} cannot take the rows of {source.ref}: row {rows[0].id} {reason}")
        return target

    async def build(self, context: RunContext[AugmentJobRequest]) -> JobRun:
        """Build the run: the child loop over the source's rows, continuing from the children stored."""
        from service.jobs.kinds.augment_run import AugmentRun

        return AugmentRun(context)


AUGMENT = AugmentKind()
