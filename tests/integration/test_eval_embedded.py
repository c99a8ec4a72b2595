"""One small real judge evaluation with the embedded model: 6 items, 1 prompt, through the cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.llm import RoleModels
from evals.cache import JudgementCache
from evals.datasets import limit_labelled, load_labelled
from evals.judges import make_criterion
from evals.pipeline import build_llm_judges, evaluate

# EmpatheticPersonas, MIT (see its README); shared/ sits beside the repository checkout.
DEV_EN = next(
    (
        path
        for path in (
            Path(__file__).resolve().parents[3] / "shared/data/judge-dev/empathy_en.csv",
            Path("/work/shared/data/judge-dev/empathy_en.csv"),
        )
        if path.is_file()
    ),
    Path("shared/data/judge-dev/empathy_en.csv"),
)
ANNOTATORS = ["annotator1_score", "annotator2_score", "annotator3_score"]


@pytest.mark.embedded
@pytest.mark.skipif(not DEV_EN.is_file(), reason="judge-dev set not present")
async def test_small_real_eval(embedded_models: RoleModels, tmp_path: Path) -> None:
    data = limit_labelled(load_labelled(DEV_EN, score="empathy_score", annotators=ANNOTATORS), 6, seed=0)
    judges = build_llm_judges(["anchored"], {"embedded": embedded_models.judge})
    with JudgementCache(tmp_path / "cache.sqlite") as cache:
        first = await evaluate([data], judges, make_criterion("empathy"), cache, concurrency=2, bootstrap=50)
        again = await evaluate([data], judges, make_criterion("empathy"), cache, concurrency=2, bootstrap=50)
    assert first.errors == [] and first.called == 6
    assert again.called == 0 and again.cached == 6
    row = next(row for row in first.rows if row.judge == "anchored @ embedded")
    assert row.parse_failure_rate <= 1 / 6
    assert row.scored >= 5 and row.tokens_per_judgement > 0
    assert -1.0 <= row.metrics["spearman"].value <= 1.0
