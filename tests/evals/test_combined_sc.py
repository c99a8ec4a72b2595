"""The combined judge (cross-fitted, held-out only) and self-consistency (k draws, median)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from agents.prompting import judge_prompt
from evals.combined import combined_label, cross_fitted
from evals.datasets import LabelledItem, LabelledSet, Scale
from evals.judges import Judgement, LLMJudge, make_criterion
from evals.scoring import score_pointwise
from tests.fakes import ScriptedChatModel

RNG = np.random.default_rng(0)
LABELS = [i % 3 for i in range(60)]
ITEMS = [LabelledItem(i, f"reply {i}", "", float(label)) for i, label in enumerate(LABELS)]
SET = LabelledSet("dev", Scale(0, 2), ITEMS)


def test_cross_fitted_scores_are_held_out_and_beat_each_noisy_input() -> None:
    llm = {i.key: Judgement(score=float(np.clip(1 + 2 * i.label + RNG.normal(0, 1.2), 1, 5))) for i in ITEMS}
    rules = {i.key: Judgement(score=float(np.clip(1 + 2 * i.label + RNG.normal(0, 1.2), 1, 5))) for i in ITEMS}
    combined = cross_fitted(SET, llm, rules, seed=0)
    assert set(combined) == {i.key for i in ITEMS} and all(1 <= j.score <= 5 for j in combined.values())  # type: ignore[operator]
    rho = {name: score_pointwise(SET, name, found, bootstrap=0).metrics["spearman"].value
           for name, found in (("llm", llm), ("rules", rules), ("both", combined))}  # fmt: skip
    assert rho["both"] > max(rho["llm"], rho["rules"])  # two independent noisy views average out
    assert combined_label("anchored @ qwen", "rule-baseline @ e5") == "anchored+rules(x-fit) @ qwen"


def test_cross_fitting_needs_enough_items_to_hold_out() -> None:
    few = LabelledSet("dev", Scale(0, 2), ITEMS[:5])
    found = {i.key: Judgement(score=3.0) for i in ITEMS}
    assert cross_fitted(few, found, found) == {}


async def test_self_consistency_takes_the_median_of_k_seeded_draws() -> None:
    draws = iter([2, 5, 4])

    def respond(messages: Any, options: dict[str, Any]) -> str:
        assert options["temperature"] == 0.7 and options["seed"] in (0, 1, 2)
        return json.dumps({"empathy": {"reason": "r", "score": next(draws)}, "feedback": ""})

    model = ScriptedChatModel(responder=respond)
    judge = LLMJudge(judge_prompt("anchored"), model, "m", samples=3)
    plain = LLMJudge(judge_prompt("anchored"), model, "m")
    assert judge.name == "anchored+sc3" and judge.version_for(make_criterion("empathy")) != plain.version_for(
        make_criterion("empathy")
    )
    judgement = await judge.judge("I hear you.", "", make_criterion("empathy"))
    assert judgement.score == 4.0 and len(model.calls) == 3 and judgement.input_tokens == 30
