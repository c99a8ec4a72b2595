"""The checklist judge: one max_tokens=1 call per question, P(yes) from logprobs, zh/en, calibration, plans."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from agents import checklist as checklist_module
from agents.checklist import CHECKLIST_TOP_LOGPROBS, calibrated, judge_checklist
from agents.judge import judge_dialogue
from agents.judge_plan import judge_sample, plan_for
from agents.knowledge.passage import Passage
from agents.prompting import PromptError, judge_prompt, parse_prompt
from agents.schemas import Turn
from agents.styles import Criterion, builtin_styles
from tests.fakes import ScriptedChatModel, prompt_text

ZH = [Turn(role="user", content="我跑完了第一个半马！"), Turn(role="assistant", content="我跑完腿都软了呢～")]
EN = [
    Turn(role="user", content="My order never arrived."),
    Turn(role="assistant", content="Mine never arrived either!"),
]
COHERENCE = [Criterion(name="coherence", description="roles straight", threshold=4)]


class LogprobModel(ScriptedChatModel):
    """A fake endpoint that answers one token and reports top logprobs: P(yes) chosen per prompt."""

    p_yes: Callable[[str], float] = lambda text: 0.1
    yes_token: str = "Yes"
    no_token: str = "No"
    with_logprobs: bool = True

    def _answer(self, messages: list[BaseMessage], options: dict[str, Any]) -> ChatResult:
        if options.get("max_tokens") != 1:  # a 1-5 judge call: the scripted answer
            return super()._answer(messages, options)
        self.calls.append((messages, options))
        p = self.p_yes(prompt_text(messages))
        token = self.yes_token if p >= 0.5 else self.no_token
        top = [{"token": self.yes_token, "logprob": math.log(p)}, {"token": self.no_token, "logprob": math.log(1 - p)},
               {"token": "Maybe", "logprob": -9.0}]  # fmt: skip
        metadata = {"logprobs": {"content": [{"token": token, "logprob": 0.0, "top_logprobs": top}]}}
        message = AIMessage(
            token,
            response_metadata=metadata if self.with_logprobs else {},
            usage_metadata={"input_tokens": 100, "output_tokens": 1, "total_tokens": 101},
        )
        return ChatResult(generations=[ChatGeneration(message=message)])


def flagging(marker: str, p: float = 0.9) -> Callable[[str], float]:
    """P(yes) = p for the question that contains ``marker``, 0.2 for the others."""
    return lambda text: p if marker in text else 0.2


async def test_each_question_is_one_token_call_and_the_flagged_one_fails_coherence() -> None:
    model = LogprobModel(responder=lambda m, o: "", p_yes=flagging("a chat assistant cannot do"))
    verdict, usage = await judge_checklist(model, judge_prompt("checklist"), COHERENCE, EN)
    questions = judge_prompt("checklist").checklist.criteria["coherence"]  # type: ignore[union-attr]
    assert usage.calls == len(questions) == len(model.calls) == 5
    for messages, options in model.calls:
        assert options["max_tokens"] == 1 and options["logprobs"] is True
        assert options["top_logprobs"] == CHECKLIST_TOP_LOGPROBS and options["temperature"] == 0.0
        assert "User: My order never arrived.\nAssistant: Mine never arrived either!" in prompt_text(messages)
    assert not verdict.passed and verdict.failing == ["coherence"] and verdict.error is None
    assert verdict.scores["coherence"] < 4 and verdict.weighted["coherence"] == pytest.approx(1.4)
    assert "impossible_promise (P=0.90)" in verdict.reasons["coherence"]
    assert json.loads(verdict.raw or "")["p_yes"]["coherence"]["impossible_promise"] == pytest.approx(0.9)


async def test_chinese_dialogue_gets_chinese_questions_and_zh_tokens() -> None:
    model = LogprobModel(responder=lambda m, o: "", p_yes=lambda text: 0.3, yes_token="是", no_token="否")
    verdict, _ = await judge_checklist(model, judge_prompt("checklist"), COHERENCE, ZH)
    text = prompt_text(model.calls[0][0])
    assert "用户：我跑完了第一个半马！\n助手：我跑完腿都软了呢～" in text and "请回答 是 或 否。" in text
    assert verdict.passed and verdict.scores["coherence"] >= 4
    assert verdict.reasons["coherence"] == "no checklist question flagged (max P=0.30)"


async def test_without_logprobs_the_sampled_word_decides_and_other_words_are_an_error() -> None:
    model = LogprobModel(responder=lambda m, o: "", p_yes=flagging("promise"), with_logprobs=False)
    verdict, _ = await judge_checklist(model, judge_prompt("checklist"), COHERENCE, EN)
    assert verdict.failing == ["coherence"] and "impossible_promise (P=1.00)" in verdict.reasons["coherence"]
    mute = LogprobModel(responder=lambda m, o: "", yes_token="Hmm", no_token="Well")
    verdict, _ = await judge_checklist(mute, judge_prompt("checklist"), COHERENCE, EN)
    assert not verdict.passed and verdict.error is not None and "coherence/role_confusion" in verdict.error


async def test_thresholds_can_differ_by_language() -> None:
    """thanks_nobody_gave fails at 0.45 in English and at 0.65 in Chinese (the shipped file)."""
    en = LogprobModel(responder=lambda m, o: "", p_yes=flagging("thank", 0.55))
    zh = LogprobModel(responder=lambda m, o: "", p_yes=flagging("感谢", 0.55), yes_token="是", no_token="否")
    english, _ = await judge_checklist(en, judge_prompt("checklist"), COHERENCE, EN)
    chinese, _ = await judge_checklist(zh, judge_prompt("checklist"), COHERENCE, ZH)
    assert english.failing == ["coherence"] and chinese.passed


async def test_calibration_asks_the_content_free_dialogue_once_per_question(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checklist_module, "_calibration", {})
    base = judge_prompt("checklist")
    assert base.checklist is not None
    template = type(base)(
        base.name, base.system, base.user, "calib", base.checklist.model_copy(update={"calibrate": True})
    )
    # every question leans to yes (0.6), but less than on the content-free "N/A" dialogue (0.7): not flagged
    model = LogprobModel(responder=lambda m, o: "", p_yes=lambda text: 0.7 if "N/A" in text else 0.6)
    verdict, usage = await judge_checklist(model, template, COHERENCE, EN)
    expected = 1 + 4 * (1 - calibrated(0.6, 0.7))
    assert usage.calls == 10 and verdict.passed and verdict.weighted["coherence"] == pytest.approx(expected, abs=1e-3)
    again, usage = await judge_checklist(model, template, COHERENCE, EN)
    assert usage.calls == 5 and again.passed  # the content-free answers are remembered
    assert calibrated(0.9, 0.5) == pytest.approx(0.9) and calibrated(0.5, 0.5) == pytest.approx(0.5)


async def test_a_checklist_override_judges_only_the_criteria_it_has_questions_for() -> None:
    pack = builtin_styles()["gentle"]
    plan = plan_for(pack.rubric, "checklist")
    assert plan.describe() == "coherence=checklist, empathy=anchored, style=anchored, correctness=anchored"
    scores = {c.name: {"reason": "ok", "score": 5} for c in pack.rubric if c.name != "coherence"}

    def responder(messages: list[BaseMessage], options: dict[str, Any]) -> str:
        return json.dumps({**scores, "feedback": ""})

    model = LogprobModel(responder=responder, p_yes=flagging("感谢"), yes_token="是", no_token="否")
    verdict, usage = await judge_sample(model, plan, pack.rubric, ZH, pack.system_prompt)
    assert usage.calls == 6 and verdict.failing == ["coherence"] and verdict.prompt_name == "checklist+anchored"
    assert verdict.scores["empathy"] == 5 and "thanks_nobody_gave" in verdict.reasons["coherence"]


def test_a_criterion_without_questions_cannot_name_the_checklist() -> None:
    rubric = [Criterion(name="empathy", description="cares", prompt="checklist")]
    with pytest.raises(PromptError, match="no questions for 'empathy'; it has: coherence"):
        plan_for(rubric)


async def test_checklist_refuses_grounded_criteria() -> None:
    passages = [Passage("a.md#0", "text", "a.md", "t")]
    with pytest.raises(PromptError, match="cannot judge"):
        await judge_dialogue(
            LogprobModel(responder=lambda m, o: ""), judge_prompt("checklist"), COHERENCE, EN, "p",
            passages=passages, grounded=frozenset({"coherence"}),
        )  # fmt: skip


@pytest.mark.parametrize(
    ("front", "message"),
    [
        ("---\nthreshold: 0.5\n### system\n$instruction\n### user\n$dialogue $question", "not closed"),
        ("---\nthreshold: [\n---\n### system\nx\n### user\ny", "not YAML"),
        ("---\nthreshold: 2\nframes: {}\ncriteria: {}\n---\n### system\nx\n### user\ny", "threshold"),
    ],
)
def test_malformed_front_matter_is_a_prompt_error(front: str, message: str) -> None:
    with pytest.raises(PromptError, match=message):
        parse_prompt(front, "bad")
