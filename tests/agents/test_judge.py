"""The judge: verdicts from the object-per-criterion answer, weighted scores, grounding, per-criterion plans."""

from __future__ import annotations

import json
from typing import Any

import pytest

from agents.answers import judge_schema
from agents.judge import JUDGE_MAX_TOKENS, JudgeOptions, judge_dialogue, problems_from_verdict, to_verdict
from agents.judge_plan import JudgePlan, judge_sample, merge_verdicts, plan_for
from agents.knowledge.passage import Passage
from agents.prompting import PromptError, judge_prompt, parse_prompt
from agents.schemas import Turn, Verdict
from agents.styles import Criterion, StylePack, StylePackError, builtin_styles, parse_style_pack
from agents.weighted import TOP_LOGPROBS
from tests.fakes import ScriptedChatModel, json_schema, prompt_text

TURNS = [Turn(role="user", content="考试没考好"), Turn(role="assistant", content="没关系的呀，要不要聊聊呢？")]
RUBRIC = [
    Criterion(name="empathy", description="cares", threshold=4),
    Criterion(name="style", description="voice", threshold=3),
]
PASSAGES = [Passage("billing.md#0", "账单日后第20天为到期还款日。", "billing.md", "还款")]


def answer(feedback: str = "", claims: dict[str, list[str]] | None = None, **scores: int) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for name, score in scores.items():
        item: dict[str, Any] = {"reason": f"{name} reason", "score": score}
        if claims and name in claims:
            item = {"unsupported_claims": claims[name], **item}
        body[name] = item
    return {**body, "feedback": feedback}


def answering(data: Any) -> ScriptedChatModel:
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return ScriptedChatModel(responder=lambda messages, options: text)


@pytest.fixture
def gentle() -> StylePack:
    return builtin_styles()["gentle"]


def parsed(data: dict[str, Any], names: list[str], grounded: frozenset[str] = frozenset()) -> Any:
    return judge_schema(names, grounded).model_validate(data)


def test_verdict_passes_at_thresholds() -> None:
    verdict = to_verdict(parsed(answer(empathy=4, style=3), ["empathy", "style"]), RUBRIC, "rubric", "raw text")
    assert verdict.passed and verdict.failing == [] and verdict.error is None
    assert verdict.scores == {"empathy": 4, "style": 3} and verdict.reasons["style"] == "style reason"
    assert verdict.raw == "raw text" and verdict.scoring == "sampled"


def test_verdict_fails_below_threshold() -> None:
    verdict = to_verdict(parsed(answer("add warmth", empathy=3, style=2), ["empathy", "style"]), RUBRIC, "a", "r")
    assert not verdict.passed and verdict.failing == ["empathy", "style"]
    assert verdict.feedback == "add warmth" and verdict.prompt_name == "a"


def test_weighted_scoring_decides_by_the_rounded_expectation() -> None:
    data = parsed(answer(empathy=4, style=3), ["empathy", "style"])
    verdict = to_verdict(data, RUBRIC, "a", "r", {"empathy": 3.4, "style": 2.6}, scoring="weighted")
    assert verdict.scoring == "weighted" and verdict.failing == ["empathy"]  # 3.4 rounds to 3 < 4
    assert verdict.scores == {"empathy": 4, "style": 3} and verdict.weighted == {"empathy": 3.4, "style": 2.6}
    partial = to_verdict(data, RUBRIC, "a", "r", {"empathy": 3.4}, scoring="weighted")
    assert partial.scoring == "sampled" and partial.passed  # not every criterion has logprobs: sampled decides


async def test_judge_call_sends_the_schema_and_asks_for_logprobs(gentle: StylePack) -> None:
    names = [criterion.name for criterion in gentle.rubric]
    model = answering(answer(**dict.fromkeys(names, 5)))
    verdict, usage = await judge_dialogue(model, judge_prompt(), gentle.rubric, TURNS, gentle.system_prompt)
    assert verdict.passed and usage.calls == 1 and verdict.weighted == {}  # the fake returns no logprobs
    ((messages, options),) = model.calls
    schema = json_schema(options)
    assert schema["name"] == "JudgeAnswer" and schema["schema"]["required"] == [*names, "feedback"]
    assert options["temperature"] == 0.0 and options["max_tokens"] == JUDGE_MAX_TOKENS
    assert options["logprobs"] is True and options["top_logprobs"] == TOP_LOGPROBS
    text = prompt_text(messages)
    assert "Role confusion" in text and "Score the criteria: coherence, empathy, style, correctness" in text
    assert "Reference passages" not in text


async def test_judge_without_logprobs_option_does_not_ask(gentle: StylePack) -> None:
    model = answering(answer(**{c.name: 5 for c in gentle.rubric}))
    await judge_dialogue(model, judge_prompt(), gentle.rubric, TURNS, "p", options=JudgeOptions(logprobs=False))
    assert "logprobs" not in model.calls[0][1]


@pytest.mark.parametrize("raw", ["not json", json.dumps(answer(empathy=5))])
async def test_judge_unreadable_answer_is_failed_verdict(raw: str) -> None:
    verdict, usage = await judge_dialogue(answering(raw), judge_prompt(), RUBRIC, TURNS, "persona")
    assert not verdict.passed and verdict.raw == raw and usage.calls == 1
    assert verdict.error is not None and "JudgeAnswer" in verdict.error


async def test_grounded_correctness_sees_the_passages_and_quotes_claims() -> None:
    rubric = [Criterion(name="correctness", description="right", threshold=4)]
    data = answer(claims={"correctness": ["免息期最长60天"]}, correctness=2)
    model = answering(data)
    verdict, _ = await judge_dialogue(
        model, judge_prompt(), rubric, TURNS, "p", passages=PASSAGES, grounded=frozenset({"correctness"})
    )
    text = prompt_text(model.calls[0][0])
    assert "[billing.md#0] 账单日后第20天为到期还款日。" in text and "unsupported_claims" in text
    assert verdict.unsupported_claims == ["免息期最长60天"] and verdict.failing == ["correctness"]
    problems = problems_from_verdict(verdict, rubric)
    assert "not supported by the passages: '免息期最长60天' (remove it or state what a passage says)" in problems


async def test_passages_need_a_reference_slot_in_the_prompt() -> None:
    bare = parse_prompt("### system\n$persona $rubric $criteria\n### user\n$dialogue", "bare")
    with pytest.raises(PromptError, match="no \\$reference slot"):
        await judge_dialogue(answering("{}"), bare, RUBRIC, TURNS, "p", passages=PASSAGES)


def test_problems_from_verdict() -> None:
    verdict = Verdict(
        scores={"empathy": 2, "style": 4},
        reasons={"empathy": "cold reply"},
        feedback="acknowledge the feeling",
        passed=False,
        failing=["empathy"],
    )
    assert problems_from_verdict(verdict, RUBRIC) == [
        "empathy scored 2/5 (needs 4): cold reply",
        "judge feedback: acknowledge the feeling",
    ]
    errored = Verdict(scores={}, passed=False, error="cut off")
    assert problems_from_verdict(errored, RUBRIC) == ["the judge could not read the sample: cut off"]


# ------------------------------------------------------------------ per-criterion prompts


def test_plan_uses_override_then_the_criterion_prompt_then_the_default() -> None:
    rubric = [*RUBRIC, Criterion(name="correctness", description="right", prompt="reason-then-score")]
    plan = plan_for(rubric)
    assert plan.describe() == "empathy=anchored, style=anchored, correctness=reason-then-score"
    assert [template.name for template, _ in plan.groups(rubric)] == ["anchored", "reason-then-score"]
    assert set(plan.digests()) == {"judge/anchored", "judge/reason-then-score"}
    assert plan_for(rubric, "rubric").describe() == "empathy=rubric, style=rubric, correctness=rubric"


async def test_a_plan_with_two_prompts_makes_two_calls_and_one_verdict() -> None:
    rubric = [*RUBRIC, Criterion(name="correctness", description="right", prompt="reason-then-score")]

    def respond(messages: Any, options: dict[str, Any]) -> str:
        names = list(json_schema(options)["schema"]["required"])[:-1]
        return json.dumps(answer("fix it" if "correctness" in names else "", **dict.fromkeys(names, 4)))

    model = ScriptedChatModel(responder=respond)
    verdict, usage = await judge_sample(model, plan_for(rubric), rubric, TURNS, "p")
    assert usage.calls == 2 and verdict.scores == {"empathy": 4, "style": 4, "correctness": 4}
    assert verdict.passed and verdict.prompt_name == "anchored+reason-then-score" and verdict.feedback == "fix it"


def test_merged_verdict_fails_when_a_part_fails_or_errs() -> None:
    ok = Verdict(scores={"empathy": 5}, passed=True, prompt_name="a")
    bad = Verdict(scores={"style": 1}, passed=False, failing=["style"], prompt_name="b", feedback="f")
    broken = Verdict(scores={}, passed=False, prompt_name="b", error="unreadable")
    merged = merge_verdicts([ok, bad], RUBRIC)
    assert not merged.passed and merged.failing == ["style"] and merged.scores == {"empathy": 5, "style": 1}
    assert merge_verdicts([ok, broken], RUBRIC).error == "unreadable"
    assert isinstance(plan_for(RUBRIC), JudgePlan)


def test_pack_criteria_name_known_prompts_and_no_reserved_names() -> None:
    base = "name: p\ndescription: d\nsystem_prompt: s\nexamples: [{user: u, assistant: a}]\n"
    with pytest.raises(StylePackError, match=r"rubric.0.prompt: Value error, unknown judge prompt 'nope'"):
        parse_style_pack(base + "rubric: [{name: empathy, description: d, prompt: nope}]")
    with pytest.raises(StylePackError, match="'feedback' is reserved"):
        parse_style_pack(base + "rubric: [{name: feedback, description: d}]")
    pack = parse_style_pack(base + "rubric: [{name: empathy, description: d, prompt: rubric}]")
    assert pack.rubric[0].prompt == "rubric"


def test_every_shipped_pack_has_a_coherence_criterion() -> None:
    for pack in builtin_styles().values():
        assert pack.rubric[0].name == "coherence" and pack.rubric[0].threshold == 4
