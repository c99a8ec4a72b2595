"""Tests for agents.pii: true positives of every kind and no false positives on ordinary numbers."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.pii import find_pii, iban_valid, luhn_valid, mask, redact, resident_id_valid

ID_NUMBER = "110101199003074573"  # Beijing Dongcheng, born 1990-03-07, checksum 3
ID_NUMBER_X = "11010519491231002X"


@pytest.mark.parametrize(
    ("text", "kind", "span"),
    [
        ("我的手机是13812345678，快打给我", "phone", "13812345678"),
        ("电话：+86 138 1234 5678。", "phone", "+86 138 1234 5678"),
        ("call me at +1 415-555-2671 tonight", "phone", "+1 415-555-2671"),
        ("my office is (415) 555-2671", "phone", "(415) 555-2671"),
        ("London: +44 20 7946 0958", "phone", "+44 20 7946 0958"),
        ("座机 010-62345678", "phone", "010-62345678"),
        ("邮箱zhang.san@example.com有事联系", "email", "zhang.san@example.com"),
        ("Email me: Jane.Doe+cs@mail.example.co.uk.", "email", "Jane.Doe+cs@mail.example.co.uk"),
        (f"身份证号{ID_NUMBER}，请核实", "id_card", ID_NUMBER),
        (f"ID {ID_NUMBER_X}", "id_card", ID_NUMBER_X),
        ("卡号 4111 1111 1111 1111 到期", "payment_card", "4111 1111 1111 1111"),
        ("card 5500-0000-0000-0004", "payment_card", "5500-0000-0000-0004"),
        ("银联卡6222021234567890128", "payment_card", "6222021234567890128"),
        ("IBAN DE89 3704 0044 0532 0130 00 please", "iban", "DE89 3704 0044 0532 0130 00"),
        ("pay to GB82WEST12345698765432", "iban", "GB82WEST12345698765432"),
    ],
)
def test_finds_personal_data(text: str, kind: str, span: str) -> None:
    hits = find_pii(text)
    assert [(hit.kind, hit.span_text) for hit in hits] == [(kind, span)]
    assert text[hits[0].start : hits[0].end] == span


@pytest.mark.parametrize(
    "text",
    [
        "My order #ORD12345 was supposed to arrive three days ago",
        "订单号#ORD2024050312已发货",
        "order 2024050312 shipped",
        "订单号 202405031234567 已签收",
        "金额¥12,345.67，分3期，每期4115.22元",
        "It cost $1,299.00, or 3.1415926 of them",
        "2024年5月3日 20240503 2024-05-03 2024/05/03 12:30",
        "from 1999 to 2024, 2000-2024",
        "timestamp 1714723200000",
        "客服热线 400-650-1234 或 95588",
        "积分 12345678 分, 额度 50000 元",
        "110101199013074573",  # month 13: not an ID
        "110101199003074574",  # wrong checksum
        "4111 1111 1111 1112",  # fails Luhn
        "0000 0000 0000 0000",
        "not an email: user@localhost or a@b",
        "DE89 3704 0044 0532 0130 01",  # fails mod 97
    ],
)
def test_ignores_ordinary_numbers(text: str) -> None:
    assert find_pii(text) == []


def test_finds_several_kinds_in_order_without_overlap() -> None:
    text = f"手机13812345678，身份证{ID_NUMBER}，邮箱 a.b@example.com"
    assert [hit.kind for hit in find_pii(text)] == ["phone", "id_card", "email"]


def test_redact_replaces_hits_with_placeholders() -> None:
    text = f"手机13812345678，身份证{ID_NUMBER}，邮箱 a.b@example.com，卡 4111111111111111"
    assert redact(text) == "手机[PHONE]，身份证[ID_NUMBER]，邮箱 [EMAIL]，卡 [CARD_NUMBER]"
    assert redact("订单#ORD12345 已发货") == "订单#ORD12345 已发货"


def test_checksums() -> None:
    assert luhn_valid("4111111111111111")
    assert not luhn_valid("4111111111111112")
    assert resident_id_valid(ID_NUMBER)
    assert resident_id_valid(ID_NUMBER_X.lower())
    assert not resident_id_valid("990101199003074573")  # no province 99
    assert iban_valid("GB82 WEST 1234 5698 7654 32")
    assert not iban_valid("GB82WEST1234")


def test_mask_keeps_only_the_ends() -> None:
    assert mask("13812345678") == "138*****678"
    assert mask("a@b.cn") == "a****n"
    assert mask("ab") == "**"


PIECES = [*"0123456789 -+()#.@abXx号码卡电话", "13812345678", "4111 1111 1111 1111", "110101199003074573"]
NUMBERISH = st.lists(st.sampled_from(PIECES), max_size=40).map("".join)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=200), NUMBERISH))
def test_find_pii_never_raises_and_spans_match(text: str) -> None:
    hits = find_pii(text)
    for hit in hits:
        assert text[hit.start : hit.end] == hit.span_text
    assert all(left.end <= right.start for left, right in itertools.pairwise(hits))
    assert isinstance(redact(text), str)
