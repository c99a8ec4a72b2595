from __future__ import annotations

import json
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from agents.answers import draft_schema
from agents.generator import GENERATOR_MAX_TOKENS, generate_dialogue
from agents.rewriter import REWRITER_TEMPERATURE, rewrite_dialogue
from agents.schemas import Turn
from agents.structured import ask_structured, response_format, text_of
from agents.styles import StylePack, builtin_styles
from agents.topics import MAX_TOPIC_CHARS, TopicBatch, brainstorm_topics, clean_topics
from tests.fakes import ScriptedChatModel, schema_name

GOOD_DIALOGUE = {"exchanges": [{"user": "hi", "assistant": "hello呢"}]}
TURNS = [Turn(role="user", content="考试没考好"), Turn(role="assistant", content="没关系的呀，要不要聊聊呢？")]
Dialogue = draft_schema(1)


def answering(text: str) -> ScriptedChatModel:
    return ScriptedChatModel(responder=lambda messages, options: text)


def json_answering(data: Any) -> ScriptedChatModel:
    return answering(json.dumps(data, ensure_ascii=False))


def only_options(model: ScriptedChatModel) -> dict[str, Any]:
    assert len(model.calls) == 1
    return model.calls[0][1]


@pytest.fixture
def gentle() -> StylePack:
    return builtin_styles()["gentle"]


PROMPT: list[BaseMessage] = [HumanMessage("answer")]


# ------------------------------------------------------------------ structured calls


async def test_structured_parses_valid_json() -> None:
    model = json_answering(GOOD_DIALOGUE)
    reply = await ask_structured(model, PROMPT, Dialogue)
    assert reply.error is None
    assert reply.parsed is not None and reply.parsed.turns()[1].content == "hello呢"
    assert reply.usage.calls == 1 and reply.usage.input_tokens == 10 and reply.usage.total == 20


@pytest.mark.parametrize(
    ("answer", "where"),
    [
        ("not json", "(answer): Invalid JSON"),
        ("```json\n" + json.dumps(GOOD_DIALOGUE) + "\n```", "(answer): Invalid JSON"),
        ('{"topics": ["a"]}', "exchanges: Field required"),
        ('{"exchanges": [{"user": "x", "assistant": "y", "role": "z"}]}', "exchanges.0.role: Extra inputs"),
        ('{"exchanges": [{"user": "x", "assistant": "y"}, {"user": "x", "assistant": "y"}]}', "exchanges: List"),
    ],
)
async def test_structured_failure_keeps_raw_text(answer: str, where: str) -> None:
    reply = await ask_structured(answering(answer), PROMPT, Dialogue)
    assert reply.parsed is None
    assert reply.raw == answer
    assert reply.error is not None
    assert reply.error.startswith("answer does not match DraftAnswer: ")
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


# ------------------------------------------------------------------ generator / rewriter


@pytest.mark.parametrize("style", sorted(builtin_styles()))
async def test_generator_uses_pack_temperature(style: str) -> None:
    pack = builtin_styles()[style]
    model = json_answering(GOOD_DIALOGUE)
    reply = await generate_dialogue(model, pack, "a topic", [])
    assert reply.parsed is not None
    options = only_options(model)
    assert schema_name(options) == "DraftAnswer"
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
    assert schema_name(options) == "DraftAnswer"
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
                {
                    "index": 0,
                    "finish_reason": "length",
                    "message": {"role": "assistant", "content": '{"exchanges": [{"us'},
                }
            ],
            "usage": {"prompt_tokens": 7, "completion_tokens": 450, "total_tokens": 457},
        }
    )

    def cut(messages, options):  # type: ignore[no-untyped-def]
        raise openai.LengthFinishReasonError(completion=completion)

    from langchain_core.messages import HumanMessage

    from agents.structured import ask_structured
    from tests.fakes import ScriptedChatModel

    reply = await ask_structured(ScriptedChatModel(responder=cut), [HumanMessage("x")], Dialogue)
    assert reply.parsed is None and reply.raw == '{"exchanges": [{"us'
    assert reply.error == "the answer was cut off at the token limit"
    assert (reply.usage.input_tokens, reply.usage.output_tokens) == (7, 450)
