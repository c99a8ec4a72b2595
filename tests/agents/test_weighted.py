"""Probability-weighted scores computed from fixed logprob inputs."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from langchain_core.messages import AIMessage

from agents.judge import judge_dialogue
from agents.prompting import judge_prompt
from agents.schemas import Turn
from agents.structured import logprobs_of
from agents.styles import Criterion
from agents.weighted import expected_score, score_offsets, weighted_scores
from tests.fakes import ScriptedChatModel


def tokens_of(text: str, alternatives: dict[int, dict[str, float]]) -> list[dict[str, Any]]:
    """One token per character (bytes given, as llama.cpp does); ``alternatives[i]`` are probabilities."""
    content = []
    for index, char in enumerate(text):
        top = alternatives.get(index, {char: 1.0})
        content.append(
            {
                "token": char,
                "bytes": list(char.encode("utf-8")),
                "logprob": math.log(top.get(char, 1e-9)),
                "top_logprobs": [{"token": tok, "logprob": math.log(p)} for tok, p in top.items()],
            }
        )
    return content


RAW = json.dumps(
    {"empathy": {"reason": "回复很温暖，\"score\": 1 不是键", "score": 4}, "style": {"reason": "ok", "score": 2},
     "feedback": ""}, ensure_ascii=False,
)  # fmt: skip


def test_score_offsets_skip_quoted_text_inside_reasons() -> None:
    offsets = score_offsets(RAW, ["empathy", "style", "missing"])
    assert set(offsets) == {"empathy", "style"}
    assert RAW[offsets["empathy"]] == "4" and RAW[offsets["style"]] == "2"


def test_expected_score_keeps_digits_only_and_renormalises() -> None:
    top = [("4", math.log(0.5)), ("5", math.log(0.25)), ('"', math.log(0.2)), (" 3", math.log(0.05))]
    assert expected_score(top) == pytest.approx((4 * 0.5 + 5 * 0.25 + 3 * 0.05) / 0.8)
    assert expected_score([("x", 0.0)]) is None


def test_weighted_scores_from_per_token_logprobs_with_multibyte_text() -> None:
    offsets = score_offsets(RAW, ["empathy", "style"])
    content = tokens_of(RAW, {offsets["empathy"]: {"4": 0.6, "3": 0.3, "5": 0.1}, offsets["style"]: {"2": 1.0}})
    assert weighted_scores(RAW, content, ["empathy", "style"]) == {"empathy": 3.8, "style": 2.0}


def test_split_utf8_tokens_are_joined_by_bytes() -> None:
    raw = '{"empathy": {"reason": "暖", "score": 5}, "feedback": ""}'
    content: list[dict[str, Any]] = []
    for char in raw:
        data = char.encode("utf-8")
        if len(data) > 1:  # a Chinese character as two byte-level tokens, neither decodable alone
            content += [{"token": "\ufffd", "bytes": list(data[:1]), "top_logprobs": []},
                        {"token": "\ufffd", "bytes": list(data[1:]), "top_logprobs": []}]  # fmt: skip
        elif char == "5":
            content.append({"token": "5", "bytes": [53], "top_logprobs": [{"token": "5", "logprob": math.log(0.5)},
                            {"token": "4", "logprob": math.log(0.5)}]})  # fmt: skip
        else:
            content.append({"token": char, "bytes": list(data), "top_logprobs": []})
    assert weighted_scores(raw, content, ["empathy"]) == {"empathy": 4.5}


def test_a_stripped_code_fence_around_the_answer_is_skipped() -> None:
    fenced = "```json\n" + RAW + "\n```"
    offset = len("```json\n") + score_offsets(RAW, ["empathy"])["empathy"]
    content = tokens_of(fenced, {offset: {"4": 0.5, "5": 0.5}})
    assert weighted_scores(RAW, content, ["empathy"]) == {"empathy": 4.5}  # llama.cpp's content has no fence


def test_no_logprobs_or_tokens_that_are_not_the_text_give_nothing() -> None:
    assert weighted_scores(RAW, None, ["empathy"]) == {}
    assert weighted_scores(RAW, tokens_of(RAW[:-3], {}), ["empathy"]) == {}
    assert weighted_scores("", tokens_of(RAW, {}), ["empathy"]) == {}
    merged = [{"token": RAW, "bytes": list(RAW.encode()), "top_logprobs": [{"token": RAW, "logprob": 0.0}]}]
    assert weighted_scores(RAW, merged, ["empathy"]) == {}  # the digit shares its token: no distribution


def test_logprobs_are_read_from_the_response_metadata() -> None:
    message = AIMessage("x", response_metadata={"logprobs": {"content": [{"token": "x", "logprob": 0.0}]}})
    assert logprobs_of(message) == [{"token": "x", "logprob": 0.0}]
    assert logprobs_of(AIMessage("x")) is None


async def test_one_judge_call_gives_sampled_and_weighted_scores() -> None:
    raw = json.dumps({"empathy": {"reason": "warm", "score": 4}, "feedback": ""})
    content = tokens_of(raw, {score_offsets(raw, ["empathy"])["empathy"]: {"4": 0.5, "2": 0.5}})

    class WithLogprobs(ScriptedChatModel):
        def _answer(self, messages: Any, options: dict[str, Any]) -> Any:
            result = super()._answer(messages, options)
            result.generations[0].message.response_metadata["logprobs"] = {"content": content}
            return result

    model = WithLogprobs(responder=lambda messages, options: raw)
    rubric = [Criterion(name="empathy", description="cares", threshold=4)]
    turns = [Turn(role="user", content="hi"), Turn(role="assistant", content="hello")]
    verdict, usage = await judge_dialogue(model, judge_prompt(), rubric, turns, "p")
    assert usage.calls == 1 and verdict.scores == {"empathy": 4} and verdict.weighted == {"empathy": 3.0}
    assert verdict.passed and verdict.scoring == "sampled"
