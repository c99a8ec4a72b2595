"""``refusals:rewrite`` and ``judge`` with scripted models: the repair loop, verdicts on rows, failures kept."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from graph.cleaning.base import Change, Drop, Flag, Keep
from graph.cleaning.chain import ChainRunner
from graph.cleaning.registry import ChainError, build_operators, needs_models, parse_ops, parse_recipe
from graph.datasets.rows import batch_samples, samples_table
from graph.nodes import LoopDeps
from tests.graph.cleaning.helpers import row
from tests.graph.loop_support import Script, judge_scores, make_deps, not_json


class Tools:
    """LLMTools over make_deps: one style (the test pack), scripted models."""

    concurrency = 2

    def __init__(self, deps: LoopDeps) -> None:
        self._deps = deps
        self.asked: list[tuple[str, str | None]] = []

    def deps(self, style: str, judge: str | None = None) -> LoopDeps:
        self.asked.append((style, judge))
        return self._deps


def tools(tmp_path: Path, script: Script) -> Tools:
    return Tools(make_deps(tmp_path, script))


REFUSING = row("r1", "他住在哪里？", "我无法回答这个问题，因为它涉及到个人隐私。")
FINE = row("ok", "今天好累", "辛苦啦，先休息一下呀(^_−)☆")


def test_refusals_rewrite_sends_refusals_through_the_loop_and_keeps_the_original(tmp_path: Path) -> None:
    script = Script()
    chain = parse_ops("refusals:rewrite").with_style("gentle")
    assert needs_models(chain) and not needs_models(parse_ops("default"))
    [operator] = build_operators(chain, tools(tmp_path, script))
    decisions = asyncio.run(operator.decide_batch([REFUSING, FINE]))  # type: ignore[attr-defined]
    assert isinstance(decisions[1], Keep)
    change = decisions[0]
    assert isinstance(change, Change) and change.what == "rewritten"
    assert "无法回答" not in change.turns[1].content
    kinds = [attempt.kind for attempt in change.attempts]
    assert kinds[0] == "source" and change.attempts[0].turns == REFUSING.turns and "rewrite" in kinds
    assert change.attempts[-1].verdict is not None and change.attempts[-1].verdict.passed
    rewrite_prompt = script.prompts["rewriter"][0]
    assert "我无法回答" in rewrite_prompt and "persona's own voice" in rewrite_prompt
    assert script.count("judge") >= 1 and script.count("generator") == 0


def test_a_refusal_the_loop_cannot_repair_is_dropped_with_the_reason(tmp_path: Path) -> None:
    script = Script(judge=judge_scores(empathy=1))
    [operator] = build_operators(parse_ops("refusals:rewrite").with_style("gentle"), tools(tmp_path, script))
    [decision] = asyncio.run(operator.decide_batch([REFUSING]))  # type: ignore[attr-defined]
    assert isinstance(decision, Drop) and decision.code == "refusal_not_repaired"
    assert "gave up" in decision.detail and script.count("rewriter") == 2  # max_rewrites


def test_judge_stores_verdicts_on_rows_and_drops_below_the_bar(tmp_path: Path) -> None:
    low = Script(judge=judge_scores(empathy=2))
    [operator] = build_operators(parse_recipe({"ops": [{"judge": {"style": "gentle"}}]}), tools(tmp_path, low))
    [dropped] = asyncio.run(operator.decide_batch([FINE]))  # type: ignore[attr-defined]
    assert isinstance(dropped, Drop) and dropped.code == "judge_below_bar" and "empathy 2" in dropped.detail

    scoring = parse_recipe({"ops": [{"judge": {"style": "gentle", "drop": False}}]})
    [operator] = build_operators(scoring, tools(tmp_path, low))
    [scored] = asyncio.run(operator.decide_batch([FINE]))  # type: ignore[attr-defined]
    assert isinstance(scored, Change) and scored.turns == FINE.turns
    verdict = scored.attempts[0].verdict
    assert scored.attempts[0].kind == "judge" and verdict is not None and verdict.scores["empathy"] == 2

    garbled = Tools(make_deps(tmp_path, Script(judge=not_json)))
    [operator] = build_operators(parse_ops("judge:gentle"), garbled)
    [flag] = asyncio.run(operator.decide_batch([FINE]))  # type: ignore[attr-defined]
    assert isinstance(flag, Flag) and flag.code == "judge_unreadable"  # the row is kept, unscored


def test_scores_reach_the_rows_through_the_chain(tmp_path: Path) -> None:
    chain = parse_ops("normalize,judge:gentle")
    operators = build_operators(chain, tools(tmp_path, Script()))
    samples: list[Any] = []
    runner = ChainRunner(operators, workers=0)
    report = asyncio.run(
        runner.run([samples_table([FINE, REFUSING])], lambda out: samples.extend(batch_samples(out.table)))
    )
    assert [sample.verdict.scores["empathy"] for sample in samples] == [5, 5]  # type: ignore[union-attr]
    assert report.operators[1].changed == {"scored": 2}


def test_operators_that_call_models_need_a_style_and_models() -> None:
    with pytest.raises(ChainError, match=r"ops.0.judge calls a model in a style"):
        parse_ops("judge").with_style(None)
    with pytest.raises(ChainError, match="a style is only used by refusals:rewrite and judge"):
        parse_ops("default").with_style("gentle")
    with pytest.raises(ChainError, match=r"ops.8.refusals calls models, and none were given"):
        build_operators(parse_ops("default,refusals:rewrite").with_style("gentle"))
    assert parse_ops("refusals:rewrite").with_style("gentle").ops[0].params == {"mode": "rewrite", "style": "gentle"}
