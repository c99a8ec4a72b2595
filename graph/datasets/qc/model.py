"""The figures of a QC report, as they are written to report.json (one ``VersionReport`` per version)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from agents.schemas import utc_now

REPORT_FORMAT = "dialogforge.qc/1"


class Histogram(BaseModel):
    """Counts in bins ``[edges[i], edges[i+1])``; values past the last edge are counted in ``over``."""

    edges: list[float]
    counts: list[int]
    over: int = 0
    total: int = 0
    mean: float | None = None
    median: float | None = None
    p95: float | None = None
    bounds: tuple[int, int] | None = Field(default=None, description="The pack's min/max, drawn on the plot.")


class Share(BaseModel):
    """One class and how many rows it holds."""

    name: str
    count: int
    share: float


class Balance(BaseModel):
    """How rows split over one dimension (origin, style, topic, cluster); warns above the bound."""

    dimension: str
    classes: list[Share]
    largest: Share | None = None
    bound: float = 0.8
    warning: str | None = None


class Term(BaseModel):
    """A word (or character bigram) and how often it occurs in the sampled text."""

    term: str
    count: int


class CriterionScores(BaseModel):
    """Judge scores of one rubric criterion: how many rows got each score 1-5."""

    criterion: str
    counts: dict[int, int]
    threshold: int | None = None
    mean: float | None = None
    passing: float | None = Field(default=None, description="Share of scored rows at or above the threshold.")


class DuplicateGroup(BaseModel):
    """Rows that are the same (exact) or nearly the same (embedding similarity at or above the bound)."""

    size: int
    ids: list[str]
    example: str
    similarity: float | None = None


class MapPoint(BaseModel):
    """One sampled row on the topic map."""

    x: float
    y: float
    cluster: int


class Cluster(BaseModel):
    """A topic cluster of the map: its size in the sample, a label and the nearest row's text."""

    index: int
    size: int
    share: float
    label: str
    example: str


class Diversity(BaseModel):
    """How varied the user turns are (``graph.diversity``), on ``sampled`` rows."""

    sampled: int
    distinct_1: float
    distinct_2: float
    mean_pairwise_distance: float | None = None


class VersionReport(BaseModel):
    """Every figure of one version."""

    ref: str
    operation: str
    created_at: datetime
    parents: list[str] = Field(default_factory=list)
    rows: int
    language: str
    styles: list[str] = Field(default_factory=list)
    by_origin: list[Share] = Field(default_factory=list)
    by_style: list[Share] = Field(default_factory=list)
    by_status: list[Share] = Field(default_factory=list)
    turns: Histogram | None = None
    chars: dict[str, Histogram] = Field(default_factory=dict, description="Characters per turn, by role.")
    terms: dict[str, list[Term]] = Field(default_factory=dict, description="Top terms of user and assistant turns.")
    terms_sampled: int = 0
    scores: list[CriterionScores] = Field(default_factory=list)
    scored_rows: int = 0
    judge_prompts: list[Share] = Field(default_factory=list)
    reject_reasons: list[Share] = Field(default_factory=list)
    job_rejections: list[Share] = Field(
        default_factory=list, description="What the job that made this version rejected (not rows of the version)."
    )
    job_id: str | None = None
    check_failures: list[Share] = Field(default_factory=list, description="Rule-check failures found on the way.")
    exact_duplicates: list[DuplicateGroup] = Field(default_factory=list)
    exact_duplicate_rows: int = 0
    repeated_prompts: list[DuplicateGroup] = Field(default_factory=list)
    repeated_prompt_rows: int = 0
    near_duplicates: list[DuplicateGroup] = Field(default_factory=list)
    near_duplicate_rows: int = 0
    near_duplicate_bound: float | None = None
    map_points: list[MapPoint] = Field(default_factory=list)
    clusters: list[Cluster] = Field(default_factory=list)
    map_sampled: int = 0
    embedder: str | None = None
    balance: list[Balance] = Field(default_factory=list)
    diversity: Diversity | None = None
    warnings: list[str] = Field(default_factory=list)


class QCReport(BaseModel):
    """The report: one version, or a version and the one it is compared ``against``."""

    report_format: str = REPORT_FORMAT
    created_at: datetime = Field(default_factory=utc_now)
    versions: list[VersionReport]
    seconds: float = 0.0
    phases: dict[str, float] = Field(default_factory=dict, description="Seconds per phase of the build.")
