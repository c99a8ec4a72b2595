"""Chat command grammar: English and Chinese forms, and plain-word errors."""

from __future__ import annotations

import pytest

from service.chatops.grammar import (
    Cancel,
    CommandError,
    Generate,
    Help,
    SampleNow,
    Status,
    Styles,
    Vocabulary,
    parse_command,
    tokenize,
)

VOCAB = Vocabulary(
    {"gentle": ["温柔"], "snarky": ["毒舌"], "empathetic-cs": ["empathetic", "cs"], "bank-cs": ["bank", "信用卡客服"]},
    max_n=500,
)


def parse(text: str):  # type: ignore[no-untyped-def]
    return parse_command(text, VOCAB)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("gentle 50 sharegpt", Generate("gentle", 50, "sharegpt")),
        ("gentle 50", Generate("gentle", 50, "sharegpt")),
        ("Gentle 7 ALPACA", Generate("gentle", 7, "alpaca")),
        ("snarky openai 20", Generate("snarky", 20, "openai")),
        ("generate cs 3 raw", Generate("empathetic-cs", 3, "raw")),
        ("gentle n=12", Generate("gentle", 12, "sharegpt")),
        ("温柔 50", Generate("gentle", 50, "sharegpt")),
        ("温柔50", Generate("gentle", 50, "sharegpt")),
        ("温柔50条", Generate("gentle", 50, "sharegpt")),
        ("生成 毒舌 20 条 alpaca", Generate("snarky", 20, "alpaca")),
        ("生成毒舌20条", Generate("snarky", 20, "sharegpt")),
        ("信用卡客服　３０", Generate("bank-cs", 30, "sharegpt")),  # full-width space and digits
        ("温柔，50，openai", Generate("gentle", 50, "openai")),
        ("  gentle   5  ", Generate("gentle", 5, "sharegpt")),
    ],
)
def test_generate_forms(text: str, expected: Generate) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize("text", ["", "   ", "help", "HELP", "h", "?", "帮助", "说明"])
def test_help_forms(text: str) -> None:
    assert parse(text) == Help()


@pytest.mark.parametrize("text", ["styles", "style", "list", "风格", "风格列表"])
def test_styles_forms(text: str) -> None:
    assert parse(text) == Styles()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("status 3f2a9c1b7d4e", Status("3f2a9c1b7d4e")),
        ("状态 3f2a9c1b7d4e", Status("3f2a9c1b7d4e")),
        ("状态3f2a9c1b7d4e", Status("3f2a9c1b7d4e")),
        ("进度 abc", Status("abc")),
        ("cancel 3f2a9c1b7d4e", Cancel("3f2a9c1b7d4e")),
        ("取消 3f2a9c1b7d4e", Cancel("3f2a9c1b7d4e")),
        ("stop job-1", Cancel("job-1")),
        ("sample gentle", SampleNow("gentle")),
        ("样例 温柔", SampleNow("gentle")),
        ("示例 毒舌", SampleNow("snarky")),
        ("样例温柔", SampleNow("gentle")),
        ("try bank", SampleNow("bank-cs")),
    ],
)
def test_job_and_sample_forms(text: str, expected: object) -> None:
    assert parse(text) == expected


def test_unknown_style_lists_the_styles() -> None:
    with pytest.raises(CommandError) as info:
        parse("cheerful 10")
    message = str(info.value)
    assert "'cheerful'" in message
    for name in ("gentle (温柔)", "snarky (毒舌)", "empathetic-cs", "bank-cs"):
        assert name in message


def test_unknown_style_in_sample_lists_the_styles() -> None:
    with pytest.raises(CommandError, match=r"don't know the style '开心'.*gentle"):
        parse("样例 开心")


def test_n_too_large_says_the_limit() -> None:
    with pytest.raises(CommandError, match="at most 500 samples"):
        parse("gentle 501")
    with pytest.raises(CommandError, match="at most 500"):
        parse("温柔 100000")


def test_n_zero_and_missing() -> None:
    with pytest.raises(CommandError, match="at least 1"):
        parse("gentle 0")
    with pytest.raises(CommandError, match="how many"):
        parse("gentle")
    with pytest.raises(CommandError, match="how many"):
        parse("温柔 sharegpt")


def test_unknown_format_lists_the_formats() -> None:
    with pytest.raises(CommandError, match=r"unknown format 'json'.*alpaca, sharegpt, openai, raw"):
        parse("gentle 10 json")


def test_stray_words_and_duplicates() -> None:
    with pytest.raises(CommandError, match="given twice"):
        parse("gentle 10 20")
    with pytest.raises(CommandError, match="given twice"):
        parse("gentle 10 alpaca openai")
    with pytest.raises(CommandError, match="don't understand '很多'"):
        parse("gentle 10 很多")


def test_job_commands_need_a_valid_id() -> None:
    with pytest.raises(CommandError, match="say which job"):
        parse("status")
    with pytest.raises(CommandError, match="say which job"):
        parse("取消")
    with pytest.raises(CommandError, match="not a job id"):
        parse("status ../../etc")
    with pytest.raises(CommandError, match="say which style"):
        parse("sample")


def test_verb_without_arguments_and_too_long_text() -> None:
    with pytest.raises(CommandError, match="which style and how many"):
        parse("生成")
    with pytest.raises(CommandError, match="too long"):
        parse("gentle " * 200)


def test_tokenize_splits_chinese_from_latin_and_digits() -> None:
    assert tokenize("生成毒舌20条alpaca") == ["生成毒舌", "20", "条", "alpaca"]
    assert tokenize("a,b，c、d;e；f") == ["a", "b", "c", "d", "e", "f"]
