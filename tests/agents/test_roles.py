from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from pydantic import ValidationError

from agents.generator import GENERATOR_MAX_TOKENS, generate_dialogue
from agents.judge import JUDGE_MAX_TOKENS, answer_schema, judge_dialogue, problems_from_verdict, to_verdict
from agents.prompting import judge_prompt
from agents.rewriter import REWRITER_TEMPERATURE, rewrite_dialogue
from agents.schemas import Dialogue, Turn, Verdict
from agents.structured import ask_structured, response_format, text_of
from agents.styles import Criterion, StylePack, builtin_styles
from agents.topics import MAX_TOPIC_CHARS, TopicBatch, brainstorm_topics, clean_topics
from tests.fakes import ScriptedChatModel, schema_name

GOOD_DIALOGUE = {"turns": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello呢"}]}
TURNS = [Turn(role="user", content="考试没考好"), Turn(role="assistant", content="没关系的呀，要不要聊聊呢？")]
RUBRIC = [
    Criterion(name="empathy", description="cares", threshold=4),
    Criterion(name="style", description="voice", threshold=3),
]


def answering(text: str) -> ScriptedChatModel:
    return ScriptedChatModel(responder=lambda messages, options: text)


def json_answering(data: Any) -> ScriptedChatModel:
    return answering(json.dumps(data, ensure_ascii=False))


def only_options(model: ScriptedChatModel) -> dict[str, Any]:
    assert len(model.calls) == 1
    return model.calls[0][1]


def judge_answer(*scores: tuple[str, int], feedback: str = "") -> dict[str, Any]:
    return {
        "scores": [{"criterion": name, "reason": f"{name} reason", "score": score} for name, score in scores],
        "feedback": feedback,
    }


@pytest.fixture
def gentle() -> StylePack:
    return builtin_styles()["gentle"]


PROMPT: list[BaseMessage] = [HumanMessage("answer")]


# ------------------------------------------------------------------ structured calls


async def test_structured_parses_valid_json() -> None:
    model = json_answering(GOOD_DIALOGUE)
    reply = await ask_structured(model, PROMPT, Dialogue)
    assert reply.error is None
    assert reply.parsed is not None and reply.parsed.turns[1].content == "hello呢"
    assert reply.usage.calls == 1 and reply.usage.input_tokens == 10 and reply.usage.total == 20


@pytest.mark.parametrize(
    ("answer", "where"),
    [
        ("not json", "(answer): Invalid JSON"),
        ("```json\n" + json.dumps(GOOD_DIALOGUE) + "\n```", "(answer): Invalid JSON"),
        ('{"topics": ["a"]}', "turns: Field required"),
        ('{"turns": [{"role": "robot", "content": "x"}, {"role": "user", "content": "y"}]}', "turns.0.role"),
    ],
)
async def test_structured_failure_keeps_raw_text(answer: str, where: str) -> None:
    reply = await ask_structured(answering(answer), PROMPT, Dialogue)
    assert reply.parsed is None
    assert reply.raw == answer
    assert reply.error is not None
    assert reply.error.startswith("answer does not match Dialogue: ")
    assert where in reply.error
    assert reply.usage.calls == 1


async def test_structured_sends_json_schema() -> None:
    model = json_answering(GOOD_DIALOGUE)
    await ask_structured(model, PROMPT, Dialogue, temperature=0.2, max_tokens=50)
    options = only_options(model)
    assert options["response_format"] == response_format(Dialogue)
    assert options["response_format"]["type"] == "json_schema"
    assert options["response_format"]["json_schema"]["strict"] is True
    assert options["response_format"]["json_schema"]["schema"] == Dialogue.model_json_schema()
    assert options["temperature"] == 0.2 and options["max_tokens"] == 50


async def test_structured_leaves_unset_options_out() -> None:
    model = json_answering(GOOD_DIALOGUE)
    await ask_structured(model, PROMPT, Dialogue)
    assert set(only_options(model)) == {"response_format"}


def test_text_of_content_parts() -> None:
    message = AIMessage(content=["{", {"type": "text", "text": '"a": 1'}, "}"])
    assert text_of(message) == '{"a": 1}'


# ------------------------------------------------------------------ judge


def test_answer_schema_is_one_score_per_criterion() -> None:
    schema = answer_schema(["empathy", "style"])
    assert schema.__name__ == "JudgeAnswer"
    schema.model_validate(judge_answer(("empathy", 5), ("style", 1)))
    with pytest.raises(ValidationError):
        schema.model_validate(judge_answer(("empathy", 5)))
    with pytest.raises(ValidationError):
        schema.model_validate(judge_answer(("empathy", 5), ("humour", 4)))
    with pytest.raises(ValidationError):
        schema.model_validate(judge_answer(("empathy", 6), ("style", 4)))


def test_verdict_passes_at_thresholds() -> None:
    answer = answer_schema(["empathy", "style"]).model_validate(judge_answer(("empathy", 4), ("style", 3)))
    verdict = to_verdict(answer, RUBRIC, "default", "raw text")
    assert verdict.passed and verdict.failing == [] and verdict.error is None
    assert verdict.scores == {"empathy": 4, "style": 3}
    assert verdict.reasons["style"] == "style reason"
    assert verdict.raw == "raw text"


def test_verdict_fails_below_threshold() -> None:
    answer = answer_schema(["empathy", "style"]).model_validate(
        judge_answer(("empathy", 3), ("style", 2), feedback="add warmth")
    )
    verdict = to_verdict(answer, RUBRIC, "anchored", "raw")
    assert not verdict.passed
    assert verdict.failing == ["empathy", "style"]
    assert verdict.feedback == "add warmth"
    assert verdict.prompt_name == "anchored"


def test_verdict_with_missing_criterion_fails_with_error() -> None:
    answer = answer_schema(["empathy", "style"]).model_validate(judge_answer(("empathy", 5), ("empathy", 5)))
    verdict = to_verdict(answer, RUBRIC, "default", "the raw answer")
    assert not verdict.passed
    assert verdict.error == "judge did not score: style"
    assert verdict.raw == "the raw answer"
    assert verdict.scores == {}


async def test_judge_call_passes_and_sends_schema(gentle: StylePack) -> None:
    model = json_answering(judge_answer(("empathy", 5), ("style", 4), ("correctness", 4)))
    verdict, usage = await judge_dialogue(model, judge_prompt(), gentle.rubric, TURNS, gentle.system_prompt)
    assert verdict.passed and usage.calls == 1
    options = only_options(model)
    assert schema_name(options) == "JudgeAnswer"
    schema = options["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["scores"]["minItems"] == 3 == schema["properties"]["scores"]["maxItems"]
    assert options["temperature"] == 0.0 and options["max_tokens"] == JUDGE_MAX_TOKENS


async def test_judge_below_threshold_lists_failing(gentle: StylePack) -> None:
    model = json_answering(judge_answer(("empathy", 5), ("style", 2), ("correctness", 4), feedback="use 呀"))
    verdict, _ = await judge_dialogue(model, judge_prompt(), gentle.rubric, TURNS, gentle.system_prompt)
    assert not verdict.passed and verdict.failing == ["style"]
    assert verdict.feedback == "use 呀"


@pytest.mark.parametrize("answer", ["not json", json.dumps(judge_answer(("empathy", 5)))])
async def test_judge_unreadable_answer_is_failed_verdict(gentle: StylePack, answer: str) -> None:
    verdict, usage = await judge_dialogue(answering(answer), judge_prompt(), gentle.rubric, TURNS, gentle.system_prompt)
    assert not verdict.passed
    assert verdict.raw == answer
    assert verdict.error is not None and "JudgeAnswer" in verdict.error
    assert usage.calls == 1


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


def test_problems_from_errored_verdict() -> None:
    verdict = Verdict(scores={}, passed=False, error="judge did not score: style")
    assert problems_from_verdict(verdict, RUBRIC) == ["the judge could not read the sample: judge did not score: style"]


# ------------------------------------------------------------------ generator / rewriter


@pytest.mark.parametrize("style", sorted(builtin_styles()))
async def test_generator_uses_pack_temperature(style: str) -> None:
    pack = builtin_styles()[style]
    model = json_answering(GOOD_DIALOGUE)
    reply = await generate_dialogue(model, pack, "a topic", [])
    assert reply.parsed is not None
    options = only_options(model)
    assert schema_name(options) == "Dialogue"
    assert options["temperature"] == pack.temperature
    assert options["max_tokens"] == GENERATOR_MAX_TOKENS


async def test_generator_unparseable_keeps_raw(gentle: StylePack) -> None:
    reply = await generate_dialogue(answering("Sure! Here is a dialogue."), gentle, "a topic", [])
    assert reply.parsed is None and reply.raw == "Sure! Here is a dialogue." and reply.error


async def test_rewriter_call(gentle: StylePack) -> None:
    model = json_answering(GOOD_DIALOGUE)
    reply = await rewrite_dialogue(model, gentle, TURNS, ["reply lacks a style marker"])
    assert reply.parsed is not None
    options = only_options(model)
    assert schema_name(options) == "Dialogue"
    assert options["temperature"] == REWRITER_TEMPERATURE
    assert "- reply lacks a style marker" in str(model.calls[0][0][1].content)


# ------------------------------------------------------------------ topics


def test_clean_topics() -> None:
    topics = [
        "  - rainy day  ",
        "• lost keys",
        "",
        "   ",
        "rainy day",
        "known one",
        "x" * (MAX_TOPIC_CHARS + 1),
        "*late bus*",
    ]
    assert clean_topics(topics, {"known one"}) == ["rainy day", "lost keys", "late bus"]


def test_clean_topics_keeps_max_length() -> None:
    assert clean_topics(["y" * MAX_TOPIC_CHARS], set()) == ["y" * MAX_TOPIC_CHARS]


async def test_brainstorm_drops_used_topics(gentle: StylePack) -> None:
    model = json_answering({"topics": ["下雨天", "新工作", "下雨天", "旧话题"]})
    topics, usage, error = await brainstorm_topics(model, gentle, ["旧话题"], count=4)
    assert (topics, error) == (["下雨天", "新工作"], None)
    assert usage.calls == 1
    options = only_options(model)
    assert schema_name(options) == "TopicBatch"
    assert options["response_format"]["json_schema"]["schema"] == TopicBatch.model_json_schema()


@pytest.mark.parametrize("answer", ["not json", '{"topics": []}'])
async def test_brainstorm_failure_reports_error(gentle: StylePack, answer: str) -> None:
    topics, usage, error = await brainstorm_topics(answering(answer), gentle, [])
    assert topics == [] and usage.calls == 1
    assert error is not None and "TopicBatch" in error


async def test_answer_cut_at_the_token_limit_is_a_failed_reply_not_a_crash() -> None:
    import openai
    from openai.types.chat import ChatCompletion

    completion = ChatCompletion.model_validate(
        {
            "id": "x",
            "object": "chat.completion",
            "created": 0,
            "model": "m",
            "choices": [
                {"index": 0, "finish_reason": "length", "message": {"role": "assistant", "content": '{"turns": [{"ro'}}
            ],
            "usage": {"prompt_tokens": 7, "completion_tokens": 450, "total_tokens": 457},
        }
    )

    def cut(messages, options):  # type: ignore[no-untyped-def]
        raise openai.LengthFinishReasonError(completion=completion)

    from langchain_core.messages import HumanMessage

    from agents.schemas import Dialogue
    from agents.structured import ask_structured
    from tests.fakes import ScriptedChatModel

    reply = await ask_structured(ScriptedChatModel(responder=cut), [HumanMessage("x")], Dialogue)
    assert reply.parsed is None and reply.raw == '{"turns": [{"ro'
    assert reply.error == "the answer was cut off at the token limit"
    assert (reply.usage.input_tokens, reply.usage.output_tokens) == (7, 450)
