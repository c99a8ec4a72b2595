"""Admission of LLM calls: AIMD, provider pauses, RPM/TPM buckets, header parsing (a fake clock, no sockets)."""

from __future__ import annotations

import asyncio

import pytest

from agents.admission import NO_CAP, Admission, Ticket, TokenBucket, estimate_tokens
from agents.rate_headers import limit_state, parse_duration, retry_after_s


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def admit(admission: Admission, count: int, tokens: int = 0) -> list[Ticket]:
    tickets = []
    for _ in range(count):
        outcome = admission._try_admit(tokens)
        assert isinstance(outcome, Ticket), outcome
        tickets.append(outcome)
    return tickets


def test_no_cap_by_default_and_a_ceiling_when_set() -> None:
    assert Admission().stats().limit == NO_CAP
    capped = Admission(3)
    admit(capped, 3)
    assert capped._try_admit(0) == float("inf")


def test_a_burst_of_429s_halves_once_and_successes_grow_it_back() -> None:
    clock = Clock()
    admission = Admission(clock=clock)
    tickets = admit(admission, 20)
    for ticket in tickets[:5]:  # five refusals of calls admitted before the halving: one halving
        admission.observe(429, {}, ticket)
    assert admission.stats().limit == 10 and admission.stats().throttled == 5
    for ticket in tickets:
        admission.release(ticket)
    fresh = admit(admission, 10)
    assert admission._try_admit(0) == float("inf")
    admission.observe(503, {}, fresh[0])  # admitted after the halving: halves again
    assert admission.stats().limit == 5
    for _ in range(9):
        admission.observe(200, {}, None)
    assert admission.stats().limit == 5
    admission.observe(200, {}, None)  # two limits' worth of successes: one more
    assert admission.stats().limit == 6


def test_growth_stops_at_the_ceiling() -> None:
    admission = Admission(4)
    for _ in range(100):
        admission.observe(200, {}, None)
    assert admission.stats().limit == 4


def test_retry_after_pauses_every_new_call() -> None:
    clock = Clock()
    admission = Admission(clock=clock)
    admission.observe(429, {"retry-after": "2"}, None)
    assert admission._try_admit(0) == pytest.approx(2.0)
    clock.now += 2.01
    assert isinstance(admission._try_admit(0), Ticket)


def test_remaining_requests_at_zero_pause_until_one_is_back() -> None:
    clock = Clock()
    admission = Admission(learn_limits=False, clock=clock)
    headers = {"x-ratelimit-limit-requests": "10", "x-ratelimit-remaining-requests": "0"}
    headers["x-ratelimit-reset-requests"] = "2s"
    admission.observe(200, headers, None)
    assert admission._try_admit(0) == pytest.approx(0.2)  # 2 s to refill 10: one every 0.2 s


def test_limits_are_learnt_from_headers_when_none_is_set() -> None:
    clock = Clock()
    admission = Admission(clock=clock)
    headers = {"x-ratelimit-limit-requests": "600", "x-ratelimit-remaining-requests": "3"}
    headers["x-ratelimit-reset-requests"] = "1s"
    admission.observe(200, headers, None)
    assert admission.stats().rpm == 600
    admit(admission, 3)
    assert admission._try_admit(0) == pytest.approx(0.1)  # 600/min: one every 0.1 s


def test_rpm_bucket_paces_calls() -> None:
    clock = Clock()
    admission = Admission(rpm=60, clock=clock)
    admit(admission, 5)  # a 5 s burst
    assert admission._try_admit(0) == pytest.approx(1.0)
    clock.now += 1.0
    admit(admission, 1)


def test_tpm_bucket_is_corrected_from_usage() -> None:
    clock = Clock()
    admission = Admission(tpm=6000, clock=clock)  # 100 tokens a second, 500 at most
    [ticket] = admit(admission, 1, tokens=100)
    admission.release(ticket, used_tokens=500)  # it used 400 more than estimated
    assert admission._try_admit(100) == pytest.approx(1.0)  # 0 left: 100 tokens need 1 s


def test_token_bucket_clamps_a_request_larger_than_its_capacity() -> None:
    clock = Clock()
    bucket = TokenBucket(60, clock)
    assert bucket.wait_for(1000) == 0.0
    bucket.take(1000)
    assert bucket.level == 0.0


async def test_a_waiting_call_is_woken_when_another_ends() -> None:
    admission = Admission(1)
    first = await admission.acquire()
    waiting = asyncio.create_task(admission.acquire())
    await asyncio.sleep(0.05)
    assert not waiting.done()
    admission.release(first)
    second = await asyncio.wait_for(waiting, 0.5)
    admission.release(second)
    assert admission.stats().in_flight == 0


def test_estimate_counts_cjk_characters_one_each() -> None:
    assert estimate_tokens("abcdefgh") == 2
    assert estimate_tokens("你好呀") == 3


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("1s", 1.0), ("6m0s", 360.0), ("20ms", 0.02), ("1h2m3.5s", 3723.5), ("0.5", 0.5), ("soon", None), ("", None)],
)
def test_durations(text: str, seconds: float | None) -> None:
    assert parse_duration(text) == (pytest.approx(seconds) if seconds is not None else None)


def test_retry_after_forms() -> None:
    assert retry_after_s({"retry-after-ms": "250"}) == 0.25
    assert retry_after_s({"retry-after": "3"}) == 3.0
    assert retry_after_s({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}, now=1445412480.0 - 10) == 10.0
    assert retry_after_s({"retry-after": "9999"}) == 120.0
    assert retry_after_s({}) is None


def test_limit_state_reads_remaining_and_reset() -> None:
    state = limit_state({"x-ratelimit-remaining-tokens": "0", "x-ratelimit-reset-tokens": "6s"}, "tokens")
    assert state is not None and state.remaining == 0 and state.reset_s == 6.0
    assert limit_state({}, "tokens") is None


async def test_a_retry_waits_for_the_pause_and_takes_a_request_from_the_bucket() -> None:
    admission = Admission(rpm=60)  # one a second, a bucket of 5
    ticket = await admission.acquire()
    await admission.before_attempt(ticket)  # the first attempt was admitted with the ticket
    assert admission.requests is not None
    level = admission.requests.level
    admission.observe(429, {"retry-after-ms": "150"}, ticket)
    loop = asyncio.get_running_loop()
    started = loop.time()
    await admission.before_attempt(ticket)
    assert 0.14 <= loop.time() - started <= 0.5  # the pause, plus a random part of it
    assert ticket.attempts == 2 and admission.requests.level < level
    admission.release(ticket)


async def test_after_a_halving_retries_go_out_no_more_than_the_limit_at_once() -> None:
    admission = Admission()
    tickets = [await admission.acquire() for _ in range(4)]
    for ticket in tickets:
        await admission.before_attempt(ticket)  # four first attempts on the wire
    for ticket in tickets:
        admission.observe(429, {}, ticket)
    assert admission.stats().limit == 2
    retries = [asyncio.create_task(admission.before_attempt(ticket)) for ticket in tickets]
    await asyncio.sleep(0.2)
    assert sum(task.done() for task in retries) == 2
    for ticket in tickets:
        if ticket.sending:
            admission.observe(200, {}, ticket)
    await asyncio.wait_for(asyncio.gather(*retries), 1.0)
    for ticket in tickets:
        admission.release(ticket)
    assert admission._sending == 0 and admission.stats().in_flight == 0


async def test_a_retry_after_a_timeout_does_not_wait_for_its_own_slot() -> None:
    """A timed-out attempt gets no answer (no response hook): its retry must not count it on the wire."""
    admission = Admission(1)  # the embedded server's cap: one call in flight
    ticket = await admission.acquire()
    await admission.before_attempt(ticket)  # first attempt sent ... and it times out: no observe()
    await asyncio.wait_for(admission.before_attempt(ticket), 1.0)  # the client's retry goes out at once
    assert ticket.attempts == 2 and admission._sending == 1
    admission.observe(200, {}, ticket)
    admission.release(ticket)
    assert admission._sending == 0 and admission.stats().in_flight == 0
