"""The answer schemas admit only valid answers: every instance a schema allows is a usable answer."""

from __future__ import annotations

import json
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from agents.answers import draft_schema, exchange_count, judge_schema
from agents.checks import check_structure
from agents.judge import to_verdict
from agents.schemas import Turn
from agents.structured import response_format
from agents.styles import builtin_styles
from benchmarks.schema_filler import fill

RUBRIC = builtin_styles()["gentle"].rubric
NAMES = [criterion.name for criterion in RUBRIC]


def test_judge_schema_has_one_required_property_per_criterion_then_feedback() -> None:
    schema = response_format(judge_schema(NAMES))["json_schema"]["schema"]
    assert list(schema["properties"]) == [*NAMES, "feedback"]
    assert schema["required"] == [*NAMES, "feedback"]
    assert schema["additionalProperties"] is False
    criterion = schema["$defs"]["CriterionScore"]
    assert list(criterion["properties"]) == ["reason", "score"]
    assert criterion["properties"]["score"]["enum"] == [1, 2, 3, 4, 5]


def test_judge_schema_refuses_a_criterion_scored_twice_or_missing() -> None:
    model = judge_schema(["empathy", "style"])
    good = {"empathy": {"reason": "r", "score": 4}, "style": {"reason": "r", "score": 5}, "feedback": ""}
    model.model_validate(good)
    for bad in (
        {"empathy": {"reason": "r", "score": 4}, "feedback": ""},
        {**good, "humour": {"reason": "r", "score": 4}},
        {**good, "style": {"reason": "r", "score": 6}},
        {**good, "style": {"reason": "r", "score": 3, "criterion": "style"}},
    ):
        with pytest.raises(ValidationError):
            model.model_validate(bad)


@pytest.mark.parametrize("name", ["copy", "schema", "model_config", "json"])
def test_criterion_names_that_shadow_pydantic_attributes_work(name: str) -> None:
    answer = judge_schema([name]).model_validate({name: {"reason": "r", "score": 2}, "feedback": "f"})
    assert answer.judgements()[name].score == 2 and answer.feedback_text() == "f"


def test_grounded_criterion_quotes_claims_before_its_reason() -> None:
    schema = response_format(judge_schema(NAMES, frozenset({"correctness"})))["json_schema"]["schema"]
    grounded = schema["$defs"]["GroundedCriterionScore"]
    assert list(grounded["properties"]) == ["unsupported_claims", "reason", "score"]
    assert schema["properties"]["correctness"]["$ref"].endswith("GroundedCriterionScore")
    assert schema["properties"]["empathy"]["$ref"].endswith("/CriterionScore")


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32))
def test_every_judge_answer_the_schema_admits_scores_every_criterion(seed: int) -> None:
    model = judge_schema(NAMES)
    instance = fill(response_format(model)["json_schema"]["schema"], random.Random(seed))
    answer = model.model_validate_json(json.dumps(instance))
    verdict = to_verdict(answer, RUBRIC, "anchored", json.dumps(instance))
    assert verdict.error is None and set(verdict.scores) == set(NAMES)
    assert all(1 <= score <= 5 for score in verdict.scores.values())


@settings(max_examples=60, deadline=None)
@given(exchanges=st.integers(min_value=1, max_value=4), grounded=st.booleans(), seed=st.integers(0, 2**32))
def test_every_draft_the_schema_admits_has_the_right_structure(exchanges: int, grounded: bool, seed: int) -> None:
    ids = ("rules.md#1", "rules.md#2") if grounded else ()
    model = draft_schema(exchanges, ids)
    instance = fill(response_format(model)["json_schema"]["schema"], random.Random(seed))
    draft = model.model_validate_json(json.dumps(instance))
    turns = draft.turns()
    assert [turn.role for turn in turns] == ["user", "assistant"] * exchanges
    assert check_structure(turns) == []
    assert all(set(cited) <= set(ids) for cited in draft.citations())


def test_draft_schema_fixes_the_count_and_the_citable_ids() -> None:
    schema = response_format(draft_schema(2, ("a.md#0", "b.md#3")))["json_schema"]["schema"]
    assert schema["properties"]["exchanges"]["minItems"] == 2 == schema["properties"]["exchanges"]["maxItems"]
    exchange = schema["$defs"]["GroundedExchange"]
    assert list(exchange["properties"]) == ["user", "cited", "assistant"]
    assert exchange["properties"]["cited"]["items"]["enum"] == ["a.md#0", "b.md#3"]
    model = draft_schema(2, ("a.md#0", "b.md#3"))
    with pytest.raises(ValidationError):
        model.model_validate({"exchanges": [{"user": "u", "cited": ["z.md#9"], "assistant": "a"}] * 2})
    with pytest.raises(ValueError, match="between 1 and 6"):
        draft_schema(0)


def test_exchange_count() -> None:
    one = [Turn(role="user", content="u"), Turn(role="assistant", content="a")]
    assert exchange_count(one) == 1 and exchange_count(one * 3) == 3 and exchange_count([]) == 1
