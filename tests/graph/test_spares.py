"""Spares near a job's end: the chance that the samples in flight bring the job to n."""

from __future__ import annotations

import math

import pytest

from graph.spares import CONFIDENCE, chance_of_enough, should_start_another


def test_with_every_sample_accepted_it_is_the_plain_rule() -> None:
    for remaining in range(1, 10):
        for in_flight in range(0, 12):
            assert should_start_another(in_flight, remaining, 1.0) is (in_flight < remaining)


def test_the_chance_is_the_binomial_tail() -> None:
    assert chance_of_enough(2, 1, 0.5) == pytest.approx(0.75)
    assert chance_of_enough(3, 2, 0.5) == pytest.approx(0.5)
    assert chance_of_enough(10, 10, 0.8) == pytest.approx(0.8**10)
    assert chance_of_enough(4, 5, 0.9) == 0.0 and chance_of_enough(0, 0, 0.1) == 1.0


def test_at_half_acceptance_one_remaining_sample_gets_four_in_flight() -> None:
    started = next(k for k in range(1, 20) if not should_start_another(k, 1, 0.5))
    assert started == 4  # 1 - 0.5**4 = 0.94 is the first chance at CONFIDENCE or above
    assert 1 - 0.5**3 < CONFIDENCE <= 1 - 0.5**4


def test_nothing_starts_once_nothing_remains() -> None:
    assert not should_start_another(0, 0, 0.3)
    assert not should_start_another(5, -1, 0.3)
    assert math.isclose(chance_of_enough(6, 0, 0.0), 1.0)
