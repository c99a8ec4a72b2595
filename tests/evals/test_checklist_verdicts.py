"""eval verdicts with the checklist on one criterion: only that criterion is judged, and cached by it."""

from __future__ import annotations

from pathlib import Path

from agents.judge_plan import plan_for
from agents.styles import resolve_style
from evals.cache import JudgementCache
from evals.verdicts import load_verdict_set, run_verdicts, summary_rows
from tests.agents.test_checklist import LogprobModel

SET = Path(__file__).resolve().parents[2] / "evals" / "sets" / "judge-failures.jsonl"


async def test_checklist_on_coherence_only_rejects_what_its_questions_flag(tmp_path: Path) -> None:
    items = [item for item in load_verdict_set(SET) if item.language == "en"]
    plans = {"empathetic-cs": plan_for([c for c in resolve_style("empathetic-cs").rubric if c.name == "coherence"],
                                       "checklist")}  # fmt: skip
    # the fake says yes to the promise question about the one reply that promises a visit
    model = LogprobModel(
        responder=lambda m, o: "", p_yes=lambda text: 0.9 if "cannot do" in text and "drive over" in text else 0.2
    )
    with JudgementCache(tmp_path / "c.sqlite") as cache:
        results = await run_verdicts(items, model, "fake", plans, cache, criteria={"coherence"})
        calls = len(model.calls)
        again = await run_verdicts(items, model, "fake", plans, cache, criteria={"coherence"})
    assert calls == 15 * 5 and len(model.calls) == calls  # 5 questions an item, then all from the cache
    assert all(set(r.verdict.scores) == {"coherence"} for r in results + again)
    rejected = [r.item.id for r in results if not r.verdict.passed]
    assert rejected == ["en-f4"] and summary_rows(results)[0]["good_passed"] == 10
