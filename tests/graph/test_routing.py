from __future__ import annotations

import pytest

from agents.schemas import Verdict
from graph.routing import after_check, after_draft, after_judge
from graph.state import LoopConfig, SampleState

PASSED = Verdict(scores={"style": 5}, passed=True)
FAILED = Verdict(scores={"style": 2}, passed=False, failing=["style"])
UNREADABLE = Verdict(scores={}, passed=False, error="answer does not match JudgeAnswer")


def state(**values: object) -> SampleState:
    return SampleState(**values)  # type: ignore[typeddict-item]


# ------------------------------------------------------------------ after_draft


def test_draft_goes_to_check() -> None:
    assert after_draft(state(failure_code=None, rewrites=0), max_rewrites=2) == "check"
    assert after_draft(state(), max_rewrites=0) == "check"


def test_draft_ignores_codes_other_than_parse() -> None:
    # A stale check or judge code must not short-cut a fresh, readable draft.
    assert after_draft(state(failure_code="marker_missing", rewrites=2), max_rewrites=2) == "check"


@pytest.mark.parametrize(("rewrites", "expected"), [(0, "rewrite"), (1, "rewrite"), (2, "reject"), (3, "reject")])
def test_unreadable_draft_is_repaired_while_rewrites_remain(rewrites: int, expected: str) -> None:
    assert after_draft(state(failure_code="parse", rewrites=rewrites), max_rewrites=2) == expected


def test_unreadable_draft_without_rewrites_is_rejected() -> None:
    assert after_draft(state(failure_code="parse"), max_rewrites=0) == "reject"


# ------------------------------------------------------------------ after_check


def test_clean_sample_goes_to_judge() -> None:
    assert after_check(state(problems=[], rewrites=0), max_rewrites=2) == "judge"
    assert after_check(state(), max_rewrites=2) == "judge"
    assert after_check(state(problems=[], rewrites=2), max_rewrites=2) == "judge"


@pytest.mark.parametrize(("rewrites", "expected"), [(0, "rewrite"), (1, "rewrite"), (2, "reject")])
def test_check_failure_skips_judge(rewrites: int, expected: str) -> None:
    problems = ["reply lacks a style marker: use one of 呢/呀/啦"]
    routed = after_check(state(problems=problems, failure_code="marker_missing", rewrites=rewrites), max_rewrites=2)
    assert routed == expected


def test_check_failure_missing_counter_counts_as_zero() -> None:
    assert after_check(state(problems=["x"]), max_rewrites=1) == "rewrite"


def test_near_duplicate_is_rejected_without_rewrites() -> None:
    duplicate = state(problems=["nearly duplicates"], failure_code="near_duplicate", rewrites=0)
    assert after_check(duplicate, max_rewrites=2) == "reject"


# ------------------------------------------------------------------ after_judge


def test_passing_verdict_is_accepted() -> None:
    assert after_judge(state(verdict=PASSED, rewrites=0), max_rewrites=2) == "accept"
    assert after_judge(state(verdict=PASSED, rewrites=2), max_rewrites=2) == "accept"


@pytest.mark.parametrize("verdict", [FAILED, UNREADABLE, None])
@pytest.mark.parametrize(("rewrites", "expected"), [(0, "rewrite"), (1, "rewrite"), (2, "reject")])
def test_failing_verdict_is_repaired_then_rejected(verdict: Verdict | None, rewrites: int, expected: str) -> None:
    assert after_judge(state(verdict=verdict, rewrites=rewrites), max_rewrites=2) == expected


def test_judge_without_verdict_key_is_not_accepted() -> None:
    assert after_judge(state(), max_rewrites=0) == "reject"


# ------------------------------------------------------------------ bounds


@pytest.mark.parametrize("max_rewrites", [0, 1, 5, 10])
def test_rewrite_bound_is_exact(max_rewrites: int) -> None:
    failing = {"problems": ["too long"], "failure_code": "too_long", "verdict": FAILED}
    for rewrites in range(max_rewrites):
        assert after_check(state(**failing, rewrites=rewrites), max_rewrites=max_rewrites) == "rewrite"
        assert after_judge(state(**failing, rewrites=rewrites), max_rewrites=max_rewrites) == "rewrite"
    assert after_check(state(**failing, rewrites=max_rewrites), max_rewrites=max_rewrites) == "reject"
    assert after_judge(state(**failing, rewrites=max_rewrites), max_rewrites=max_rewrites) == "reject"


@pytest.mark.parametrize(("field", "value"), [("max_rewrites", -1), ("max_rewrites", 11), ("exchanges", 0)])
def test_loop_config_bounds(field: str, value: int) -> None:
    with pytest.raises(ValueError, match=field):
        LoopConfig(**{field: value})  # type: ignore[arg-type]
