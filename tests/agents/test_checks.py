"""Tests for agents.checks: each check passing and failing, on Chinese and English packs."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.checks import (
    CheckFailure,
    check_exemplar_similarity,
    check_near_duplicate,
    exemplar_similarity,
    normalise,
    run_text_checks,
    script_counts,
    trigram_jaccard,
)
from agents.schemas import Turn
from agents.styles import StylePack, parse_style_pack
from tests.fakes import FakeEmbedder

RUBRIC = "rubric: [{name: style, description: in the voice}]\n"
GENTLE_YAML = """
name: gentle
description: gentle companion
language: zh
system_prompt: 你是一个温柔体贴的聊天助手
examples:
  - user: 今天好累啊
    assistant: 辛苦啦~ 要给自己泡杯热茶放松一下吗？(^_−)☆
  - user: 考试没考好...
    assistant: 没关系的呀~ 下次一定会更好！需要我陪你聊聊天吗？(`・ω・´)
markers: ["呢", "呀", "啦"]
forbidden: ["作为一个AI", "As an AI"]
reply_bounds: {min_chars: 5, max_chars: 150}
user_bounds: {min_chars: 2, max_chars: 80}
min_exemplar_similarity: 0.40
"""
SNARKY_YAML = """
name: snarky
description: sharp-tongued friend
language: zh
system_prompt: 你是一个喜欢用犀利吐槽表达关心的朋友
examples:
  - user: 又胖了5斤！
    assistant: 好家伙！你这是要把体重秤压成分子料理？(゚ロ゚ノ)ノ
markers: ["!", "！", "好家伙", "栓Q"]
reply_bounds: {min_chars: 5, max_chars: 150}
"""
EMPATHETIC_YAML = """
name: empathetic-cs
description: empathetic customer service
language: en
system_prompt: You are an empathetic customer service agent.
examples:
  - user: "My order #ORD12345 was supposed to arrive three days ago, but the tracking hasn't updated."
    assistant: "I completely understand your concern about order #ORD12345, especially when tracking hasn't
      updated. That must be frustrating. Let me look into this for you right away."
forbidden: ["As an AI", "calm down"]
reply_bounds: {min_chars: 60, max_chars: 700}
user_bounds: {min_chars: 15, max_chars: 400}
min_exemplar_similarity: 0.70
"""


@pytest.fixture(scope="module")
def gentle() -> StylePack:
    return parse_style_pack(GENTLE_YAML + RUBRIC)


@pytest.fixture(scope="module")
def snarky() -> StylePack:
    return parse_style_pack(SNARKY_YAML + RUBRIC)


@pytest.fixture(scope="module")
def empathetic() -> StylePack:
    return parse_style_pack(EMPATHETIC_YAML + RUBRIC)


def dialogue(*pairs: tuple[str, str]) -> list[Turn]:
    return [Turn(role="user" if role == "u" else "assistant", content=text) for role, text in pairs]


GOOD_ZH = dialogue(("u", "下雨天没带伞"), ("a", "淋湿了吗?快擦干头发呀,别着凉啦~ (。◕ˇ∀ˇ◕)"))
GOOD_EN = dialogue(
    ("u", "My parcel arrived damaged and the vase inside is broken."),
    ("a", "I'm so sorry your vase arrived broken; that is really disappointing. Could you send a photo "
          "of the damage so I can arrange a replacement right away?"),
)  # fmt: skip


def codes(failures: list[CheckFailure]) -> list[str]:
    return [failure.code for failure in failures]


def test_good_samples_pass(gentle: StylePack, empathetic: StylePack) -> None:
    assert run_text_checks(gentle, GOOD_ZH) == []
    assert run_text_checks(empathetic, GOOD_EN) == []
    multi = [*GOOD_ZH, *dialogue(("u", "谢谢你"), ("a", "不客气呀,早点休息呢"))]
    assert run_text_checks(gentle, multi) == []


@pytest.mark.parametrize(
    ("turns", "expected"),
    [
        ([], [CheckFailure("empty", "the sample has no turns: write a user turn and a reply")]),
        (dialogue(("u", "下雨天没带伞"), ("a", "   ")), [CheckFailure("empty", "reply is empty: write its text")]),
        (
            dialogue(("a", "辛苦了呀,喝杯茶吧"), ("u", "下雨天没带伞")),
            [
                CheckFailure("structure", "the dialogue starts with a reply: start with a user turn"),
                CheckFailure("structure", "the dialogue ends with a user turn: end with an assistant reply"),
            ],
        ),
        (
            dialogue(("u", "下雨天没带伞"), ("u", "好冷啊"), ("a", "快擦干头发呀,别着凉啦")),
            [CheckFailure("structure", "turns 1 and 2 are both user turns: alternate user and assistant")],
        ),
    ],
)
def test_structure(gentle: StylePack, turns: list[Turn], expected: list[CheckFailure]) -> None:
    assert [f for f in run_text_checks(gentle, turns) if f.code in {"empty", "structure"}] == expected


def test_reply_too_long_and_too_short(gentle: StylePack) -> None:
    long_reply = "辛苦啦" * 61
    failures = run_text_checks(gentle, dialogue(("u", "好累"), ("a", long_reply)))
    assert failures == [CheckFailure("too_long", "reply is 183 characters; keep it within 5-150")]
    failures = run_text_checks(gentle, dialogue(("u", "好累"), ("a", "  好呀 ")))
    assert failures == [CheckFailure("too_short", "reply is 2 characters; keep it within 5-150")]


def test_bounds_are_inclusive_and_count_after_strip(gentle: StylePack) -> None:
    assert run_text_checks(gentle, dialogue(("u", "好累"), ("a", "  辛苦了呀~ \n"))) == []
    assert run_text_checks(gentle, dialogue(("u", "好累"), ("a", "辛苦了呀" + "呀" * 146))) == []


def test_user_bounds_and_numbered_replies(gentle: StylePack, empathetic: StylePack) -> None:
    failures = run_text_checks(empathetic, [Turn(role="user", content="Help!"), GOOD_EN[1]])
    assert failures == [CheckFailure("too_short", "user turn is 5 characters; keep it within 15-400")]
    turns = [*GOOD_ZH, *dialogue(("u", "谢谢你"), ("a", "好"))]
    assert CheckFailure("too_short", "reply 2 is 1 character; keep it within 5-150") in run_text_checks(gentle, turns)


def test_markers(gentle: StylePack, snarky: StylePack, empathetic: StylePack) -> None:
    turns = dialogue(("u", "下雨天没带伞"), ("a", "淋湿了吗?快擦干头发,别着凉。"))
    assert run_text_checks(gentle, turns) == [
        CheckFailure(
            "marker_missing",
            "reply lacks a style marker: use one of 呢/呀/啦 - for example change '淋湿了吗?' to '淋湿了吗呢~'",
        )
    ]
    assert codes(run_text_checks(snarky, turns)) == ["marker_missing"]
    assert run_text_checks(snarky, dialogue(("u", "又熬夜了"), ("a", "好家伙,你这是要修仙吗(゚ロ゚ノ)ノ"))) == []
    assert run_text_checks(snarky, dialogue(("u", "又熬夜了"), ("a", "你这是要修仙吗！快去睡"))) == []
    assert "marker_missing" not in codes(run_text_checks(empathetic, GOOD_EN))  # no markers: no check


def test_forbidden_is_case_insensitive(gentle: StylePack, empathetic: StylePack) -> None:
    turns = dialogue(("u", "下雨天没带伞"), ("a", "作为一个AI,我建议你快擦干头发呀"))
    assert run_text_checks(gentle, turns) == [
        CheckFailure("forbidden", "reply contains a forbidden phrase: '作为一个AI'; remove it")
    ]
    reply = GOOD_EN[1].content + " as an ai I must say: please CALM DOWN."
    failures = run_text_checks(empathetic, [GOOD_EN[0], Turn(role="assistant", content=reply)])
    assert [f.reason for f in failures] == [
        "reply contains a forbidden phrase: 'As an AI'; remove it",
        "reply contains a forbidden phrase: 'calm down'; remove it",
    ]


def test_forbidden_ignores_user_turns(empathetic: StylePack) -> None:
    turns = [Turn(role="user", content="Please calm down and answer me: where is my parcel?"), GOOD_EN[1]]
    assert run_text_checks(empathetic, turns) == []


def test_language_zh(gentle: StylePack) -> None:
    english = dialogue(("u", "下雨天没带伞"), ("a", "Oh no, did you get wet? Dry your hair 呀 (^_−)☆"))
    failures = run_text_checks(gentle, english)
    assert codes(failures) == ["language"]
    assert failures[0].reason.startswith("reply is not mostly Chinese (")
    assert failures[0].reason.endswith("need at least 30%): write it in Chinese")
    kaomoji = dialogue(("u", "游戏又输了"), ("a", "没关系呀 (`・ω・´) ∑(゚Д゚ノ)ノ ☆(*๓´╰╯`๓)"))
    assert run_text_checks(gentle, kaomoji) == []  # ω, Д, ノ, ๓ are not counted as foreign letters
    mixed = dialogue(("u", "推荐个电影吧"), ("a", "去看看《Inside Out》呀,很治愈呢"))
    assert run_text_checks(gentle, mixed) == []


def test_language_counts_user_turns(gentle: StylePack) -> None:
    english_user = dialogue(("u", "感觉很 frustrated today"), ("a", "抱抱你呀，发生什么事了呢？"))
    failures = run_text_checks(gentle, english_user)
    assert codes(failures) == ["language"]
    assert failures[0].reason.startswith("user turn is not mostly Chinese (")
    code_switching = dialogue(("u", "今天的meeting好累"), ("a", "辛苦啦，先休息一下呀"))
    assert run_text_checks(gentle, code_switching) == []


def test_language_en(empathetic: StylePack) -> None:
    reply = "非常抱歉您的花瓶在运输中破损了，请您拍一张照片发给我们，我们马上为您安排补发，好吗？谢谢您的耐心。"
    failures = run_text_checks(empathetic, [GOOD_EN[0], Turn(role="assistant", content=reply * 2)])
    assert failures == [
        CheckFailure(
            "language",
            "reply is not mostly English (0% of its letters are Latin letters, need at least 70%): write it in English",
        )
    ]


def test_script_counts() -> None:
    assert script_counts("好家伙 OK (゚ロ゚ノ)ノ ω Д") == (3, 2)
    assert script_counts("１２３ＡＢ") == (0, 2)


def test_pii_in_user_and_reply(gentle: StylePack) -> None:
    turns = dialogue(("u", "我手机13812345678,帮我查下"), ("a", "好的呀,已经帮你查啦,有事发邮件到 a.b@example.com 呢"))
    assert run_text_checks(gentle, turns) == [
        CheckFailure(
            "pii",
            "user turn contains personal data (phone number '138*****678'): remove it or replace it with a placeholder",
        ),
        CheckFailure(
            "pii",
            "reply contains personal data (email address 'a.b*********com'): "
            "remove it or replace it with a placeholder",
        ),
    ]


def test_no_pii_on_order_numbers_amounts_and_dates(empathetic: StylePack) -> None:
    turns = [
        Turn(role="user", content="My order #ORD12345 from 2024-05-03 cost $1,299.00 and still hasn't shipped."),
        Turn(
            role="assistant",
            content="I'm sorry order #ORD12345 hasn't shipped since May 3, 2024. I've refunded the $1,299.00 "
            "shipping fee of order 2024050312 and escalated it; expect an update within 2 days.",
        ),
    ]
    assert run_text_checks(empathetic, turns) == []


def test_seed_copy(gentle: StylePack, empathetic: StylePack) -> None:
    exact = dialogue(("u", " 今天  好累啊！"), ("a", "辛苦啦!要给自己泡杯热茶放松一下吗"))
    failures = run_text_checks(gentle, exact)
    assert failures == [
        CheckFailure("seed_copy", "user turn copies the seed example '今天好累啊': write new content"),
        CheckFailure(
            "seed_copy", "reply copies the seed example '辛苦啦~ 要给自己泡杯热茶放松一下吗？(^_−)☆': write new content"
        ),
    ]
    seed_reply = empathetic.examples[0].assistant
    near = [GOOD_EN[0], Turn(role="assistant", content=seed_reply.upper().replace("right away", "now"))]
    assert codes(run_text_checks(empathetic, near)) == ["seed_copy"]
    longer = [Turn(role="user", content="今天好累啊,老板又让我加班到十点"), GOOD_ZH[1]]
    assert "seed_copy" not in codes(run_text_checks(gentle, longer))


def test_normalise_and_jaccard() -> None:
    assert normalise(" Hello,  WORLD！ (^_^) ") == "helloworld"
    assert trigram_jaccard("abcdef", "abcdef") == 1.0
    assert trigram_jaccard("abc", "xyz") == 0.0
    assert trigram_jaccard("ab", "ab") == 1.0


def test_exemplar_similarity(gentle: StylePack) -> None:
    embedder = FakeEmbedder()
    seed = gentle.examples[1].assistant
    assert exemplar_similarity(embedder, gentle, seed) == pytest.approx(1.0, abs=1e-5)
    close = exemplar_similarity(embedder, gentle, "没关系的呀~ 下次会更好!要我陪你聊聊吗?")
    far = exemplar_similarity(embedder, gentle, "The quarterly report is attached.")
    assert 0.4 < close < 1.0
    assert far < 0.4


def test_check_exemplar_similarity(gentle: StylePack, snarky: StylePack) -> None:
    embedder = FakeEmbedder()
    assert check_exemplar_similarity(embedder, gentle, GOOD_ZH[:1] + dialogue(("a", "没关系的呀~ 下次会更好!"))) is None
    far = dialogue(("u", "好累"), ("a", "没关系的呀~ 下次会更好!"), ("u", "嗯"), ("a", "Quarterly report attached."))
    failure = check_exemplar_similarity(embedder, gentle, far)
    assert failure is not None and failure.code == "exemplar_similarity"
    assert failure.reason.startswith("reply 2 is too far from the style's seed replies (similarity 0.")
    assert failure.reason.endswith("need at least 0.40): write it closer to their tone and wording")
    assert check_exemplar_similarity(embedder, snarky, far) is None  # no threshold set
    assert check_exemplar_similarity(embedder, gentle, dialogue(("u", "好累"))) is None


def test_check_near_duplicate(gentle: StylePack) -> None:
    assert check_near_duplicate(gentle, 0.5, "今天好累") is None
    failure = check_near_duplicate(gentle, 0.97, "今天好累")
    assert failure == CheckFailure(
        "near_duplicate",
        "the sample nearly duplicates an accepted one ('今天好累', similarity 0.97, limit 0.95): "
        "choose a different situation and wording",
    )


PACKS = {
    name: parse_style_pack(text + RUBRIC)
    for name, text in [("gentle", GENTLE_YAML), ("snarky", SNARKY_YAML), ("empathetic", EMPATHETIC_YAML)]
}
TEXT_CODES = {
    "empty",
    "too_short",
    "too_long",
    "marker_missing",
    "forbidden",
    "language",
    "pii",
    "seed_copy",
    "structure",
}


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(["user", "assistant"]), st.text(max_size=300)), max_size=6),
    st.sampled_from(["gentle", "snarky", "empathetic"]),
)
def test_run_text_checks_never_raises(raw: list[tuple[str, str]], which: str) -> None:
    pack = PACKS[which]
    turns = [Turn.model_validate({"role": role, "content": text}) for role, text in raw]
    for failure in run_text_checks(pack, turns):
        assert failure.code in TEXT_CODES
        assert failure.reason
