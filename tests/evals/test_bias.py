"""Bias metrics on synthetic judges with a known bias: position (always "A") and length (score = length)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from evals.datasets import LabelledItem, LabelledSet, Scale
from evals.judges import Judgement, make_criterion
from evals.position import Pair, pairs_from_labels, position_bias
from evals.scoring import human_ceiling, score_pointwise
from tests.fakes import ScriptedChatModel, prompt_text

PAIRS = [Pair("I failed my exam", f"short {i}", f"a much longer and kinder reply number {i}") for i in range(6)]


def answering(choose: Any) -> ScriptedChatModel:
    return ScriptedChatModel(responder=lambda m, o: json.dumps({"reason": "r", "better": choose(prompt_text(m))}))


async def test_a_judge_that_always_says_a_flips_every_pair() -> None:
    report = await position_bias(answering(lambda text: "A"), PAIRS, make_criterion("empathy"), "p")
    assert (report.pairs, report.flips, report.favoured_first, report.flip_rate) == (6, 6, 6, 1.0)


async def test_a_judge_that_reads_the_replies_never_flips() -> None:
    def longer(text: str) -> str:
        a = text.split("Reply A:\n")[1].split("\n\nReply B:")[0]
        b = text.split("Reply B:\n")[1]
        return "A" if len(a) > len(b) else "B"

    report = await position_bias(answering(longer), PAIRS, make_criterion("empathy"), "p")
    assert report.flips == 0 and report.flip_rate == 0.0


def test_pairs_from_labels_pair_only_different_labels() -> None:
    pairs = pairs_from_labels([f"t{i}" for i in range(10)], [i % 2 for i in range(10)], 8, seed=1)
    assert len(pairs) == 8 and all(int(p.first[1:]) % 2 != int(p.second[1:]) % 2 for p in pairs)


def test_length_bias_of_a_judge_that_scores_length() -> None:
    items = [LabelledItem(i, "x" * (10 + 7 * i), "", float(i % 3), (float(i % 3),) * 3) for i in range(12)]
    data = LabelledSet("dev", Scale(0, 2), items, ["a", "b", "c"])
    by_length = {item.key: Judgement(score=float(np.clip(len(item.text) / 20, 1, 5))) for item in items}
    row = score_pointwise(data, "long-lover", by_length, bootstrap=0)
    ceiling = human_ceiling(data)
    assert row.length_corr > 0.95 and ceiling is not None and abs(ceiling.length_corr) < 0.5
