"""The judgement cache, resuming an interrupted run, and the judges (LLM via a scripted model, baseline)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import BaseMessage

from agents.prompting import judge_prompt
from agents.styles import Criterion
from evals.baseline import RuleBaselineJudge
from evals.cache import CacheKey, JudgementCache
from evals.judges import NO_CONTEXT_USER_TURN, Judgement, LLMJudge, make_criterion
from evals.runner import Response, run_judges
from tests.fakes import FakeEmbedder, ScriptedChatModel

CRITERION = make_criterion("empathy")


class CountingJudge:
    """A fake judge: scores by text length, counts calls, can fail on chosen texts."""

    def __init__(self, fail_on: frozenset[str] = frozenset()) -> None:
        self.name = "counting"
        self.model = "fake"
        self.version = "v1"
        self.calls = 0
        self.fail_on = fail_on

    async def judge(self, text: str, context: str, criterion: Criterion) -> Judgement:
        self.calls += 1
        if text in self.fail_on:
            raise ConnectionError("server went away")
        return Judgement(score=float(min(5, len(text))), input_tokens=3, output_tokens=2, seconds=0.01)


RESPONSES = [Response(f"k{i}", "x" * (i + 1)) for i in range(5)]


def run(responses: list[Response], judge: CountingJudge, cache: JudgementCache) -> Any:
    return asyncio.run(run_judges(responses, [judge], CRITERION, cache, concurrency=2, show_progress=False))


def test_cache_roundtrip(tmp_path: Path) -> None:
    key = CacheKey("abc", "m", "item", "empathy")
    with JudgementCache(tmp_path / "c.sqlite") as cache:
        assert cache.get(key) is None
        cache.put(key, "default", Judgement(None, "bad json", "{", 1, 2, 0.5))
        assert cache.get(key) == Judgement(None, "bad json", "{", 1, 2, 0.5)
    with JudgementCache(tmp_path / "c.sqlite") as reopened:
        assert reopened.count() == 1
        assert reopened.get(CacheKey("abc", "m", "item", "style")) is None


def test_second_run_costs_nothing(tmp_path: Path) -> None:
    judge = CountingJudge()
    with JudgementCache(tmp_path / "c.sqlite") as cache:
        first = run(RESPONSES + RESPONSES[:2], judge, cache)  # duplicates are judged once
        assert (judge.calls, first.called, first.cached) == (5, 5, 0)
        second = run(RESPONSES, judge, cache)
    assert (judge.calls, second.called, second.cached) == (5, 0, 5)
    assert second.judgements == first.judgements


def test_interrupted_run_resumes(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite"
    broken = CountingJudge(fail_on=frozenset({"xxx", "xxxx"}))
    with JudgementCache(path) as cache:
        partial = run(RESPONSES, broken, cache)
    assert partial.called == 3 and len(partial.errors) == 2 and "ConnectionError" in partial.errors[0]
    healed = CountingJudge()
    with JudgementCache(path) as cache:
        resumed = run(RESPONSES, healed, cache)
    assert healed.calls == 2 and resumed.cached == 3
    assert set(resumed.judgements["counting @ fake"]) == {r.key for r in RESPONSES}


def test_new_prompt_version_is_a_cache_miss(tmp_path: Path) -> None:
    judge = CountingJudge()
    with JudgementCache(tmp_path / "c.sqlite") as cache:
        run(RESPONSES, judge, cache)
        judge.version = "v2"
        run(RESPONSES, judge, cache)
    assert judge.calls == 10


def answer(score: int) -> str:
    return json.dumps({"empathy": {"reason": "r", "score": score}, "feedback": ""})


def test_llm_judge_renders_turns_and_reads_score() -> None:
    def responder(messages: list[BaseMessage], options: dict[str, Any]) -> str:
        return answer(4) if "sorry" in str(messages[-1].content) else "not json"

    model = ScriptedChatModel(responder=responder, calls=[])
    judge = LLMJudge(judge_prompt("anchored"), model, "fake-model")
    good = asyncio.run(judge.judge("I'm so sorry.", "", CRITERION))
    assert good.score == 4.0 and good.error is None and good.input_tokens == 10
    prompt = str(model.calls[0][0][-1].content)
    assert NO_CONTEXT_USER_TURN in prompt and "Assistant: I'm so sorry." in prompt
    assert "empathy" in str(model.calls[0][0][0].content)
    bad = asyncio.run(judge.judge("Ok.", "I lost my job", CRITERION))
    assert bad.score is None and bad.error and bad.raw == "not json"
    assert "User: I lost my job" in str(model.calls[1][0][-1].content)
    assert judge.version == judge_prompt("anchored").digest


def test_make_criterion() -> None:
    assert "empathy" in CRITERION.description
    assert make_criterion("tone", "Polite tone.").description == "Polite tone."
    with pytest.raises(ValueError, match="known"):
        make_criterion("tone")


def test_rule_baseline_scores_range_and_order() -> None:
    baseline = RuleBaselineJudge(FakeEmbedder(), floor=0.2, ceiling=0.9)
    warm = baseline.score("I'm so sorry you're going through this. That sounds really hard.")
    cold = baseline.score("Press continue.")
    assert 1.0 <= cold < warm <= 5.0
    assert baseline.score("   ") == 1.0
    judgement = asyncio.run(baseline.judge("Thank you, I appreciate it.", "", CRITERION))
    assert judgement.score is not None and judgement.score >= 3.0
    with pytest.raises(ValueError):
        RuleBaselineJudge(FakeEmbedder(), floor=0.9, ceiling=0.5)
