"""Each augmentation operator with a scripted fake model: its prompt renders, its answer parses, and its
checks pass a child that keeps its contract and name what a child that breaks it got wrong (no sockets)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from agents.augment.operator import ChildRequest
from agents.augment.registry import OperatorError, describe_operators, get_operator, parse_spec
from agents.schemas import Lineage, Sample, Turn
from agents.styles import builtin_styles
from tests.fakes import FakeEmbedder, RecordingEmbedder, ScriptedChatModel, prompt_text

GENTLE = builtin_styles()["gentle"]
LOOSE = {"min_similarity": 0.0}  # the hashed-bigram fake embedder is not semantic: meaning bounds off by default


def parent(*pairs: tuple[str, str], sample_id: str = "p1") -> Sample:
    """A parent row of ``pairs`` (user, assistant)."""
    turns = [Turn(role="user", content=user) if index == 0 else Turn(role="assistant", content=user)
             for pair in pairs for index, user in enumerate(pair)]  # fmt: skip
    return Sample(id=sample_id, status="accepted", system="", turns=turns, lineage=Lineage(origin="import"))


def answer(*pairs: tuple[str, str], **extra: Any) -> str:
    """A draft answer of ``pairs`` with extra top-level fields (facts, scene words, labels)."""
    return json.dumps({**extra, "exchanges": [{"user": u, "assistant": a} for u, a in pairs]}, ensure_ascii=False)


def draft(op: str, source: Sample, reply: str | list[str], params: dict[str, Any] | None = None) -> Any:
    """Run the operator's draft against a model answering ``reply`` (a list: one answer per call, in turn)."""
    replies = [reply] if isinstance(reply, str) else list(reply)
    model = ScriptedChatModel(responder=lambda messages, options: replies.pop(0))
    request = ChildRequest(source, GENTLE, parse_spec(op, params or {}))
    result = asyncio.run(get_operator(op).draft(model, request))
    return request, result, model


def codes(op: str, request: Any, turns: list[Turn], notes: dict[str, Any]) -> list[str]:
    return [failure.code for failure in get_operator(op).check(request, turns, notes, FakeEmbedder())]


CAT = parent(("我家的猫生病了，好担心", "别太担心呀，先带它去看医生呢，你现在感觉怎么样？"))


def test_paraphrase_keeps_numbers_and_must_change_the_wording() -> None:
    source = parent(("我等了3天快递还没到", "别着急呀，3天确实有点久呢，要不要我陪你查一下？"))
    request, result, model = draft(
        "paraphrase", source, answer(("快递过了3天都没送来", "先别急呢，等了3天是挺久啦，我们一起查查好吗？")), LOOSE
    )
    prompt = prompt_text(model.calls[0][0])
    assert "Task: paraphrase" in prompt and "我等了3天快递还没到" in prompt and result.error is None
    assert codes("paraphrase", request, result.turns, result.notes) == []
    copy = [Turn(role=t.role, content=t.content) for t in source.turns]
    assert "copy" in codes("paraphrase", request, copy, {})
    no_number = parent(("快递好久都没送来", "先别急呢，一起查查好吗？")).turns
    assert "missing" in codes("paraphrase", request, no_number, {})
    strict = ChildRequest(source, GENTLE, parse_spec("paraphrase", {"min_similarity": 0.99}))
    assert "meaning_changed" in codes("paraphrase", strict, result.turns, {})


def test_backtranslate_goes_through_the_pivot_and_checks_its_language() -> None:
    english = answer(("My cat is sick and I am so worried", "Don't worry, take it to a vet. How are you feeling?"))
    back = answer(("猫咪病了，我真的很担心", "不要太担心呀，带它去看兽医吧，你感觉还好吗呢？"))
    request, result, model = draft("backtranslate", CAT, [english, back], LOOSE)
    first, second = (prompt_text(call[0]) for call in model.calls)
    assert ("into English" in first and "from English" in second) or "English" in second
    assert result.notes["via"] == "en" and "My cat" in result.notes["pivot"]
    assert codes("backtranslate", request, result.turns, result.notes) == []
    assert "pivot_language" in codes("backtranslate", request, result.turns, {"via": "en", "pivot": "猫咪病了"})
    english_pack, operator = builtin_styles()["empathetic-cs"], get_operator("backtranslate")
    only_english = operator.refuse(CAT, parse_spec("backtranslate", {}), english_pack)
    assert only_english is not None and "--via en,zh" in only_english  # says what to add
    both = parse_spec("backtranslate", {"via": ["en", "zh"]})
    assert operator.refuse(CAT, both, english_pack) is None and operator.refuse(CAT, both, GENTLE) is None
    assert operator.pivot(ChildRequest(CAT, english_pack, both)) == "zh"  # each row through the other language
    assert operator.pivot(ChildRequest(CAT, GENTLE, both, variant=1)) == "en"


def test_extend_keeps_the_original_verbatim_and_adds_turns() -> None:
    new = [("它不吃东西，一直趴着", "那一定很让人心疼呢，今天就去医院好吗呀？"),
           ("好，我下午就去", "嗯嗯，路上小心呀，回来告诉我它怎么样啦")]  # fmt: skip
    request, result, _ = draft("extend", CAT, answer(*new), {"turns": 3})
    assert len(result.turns) == 6 and result.turns[:2] == CAT.turns
    assert codes("extend", request, result.turns, result.notes) == []
    changed = [Turn(role="user", content="我家的狗生病了"), *result.turns[1:]]
    assert codes("extend", request, changed, {}) == ["prefix_changed"]
    repeated = [*CAT.turns, *CAT.turns]
    assert "repeats" in codes("extend", request, repeated, {})
    three = parent(*new, *new[:1])
    assert "already has 3 exchanges" in (get_operator("extend").refuse(three, request.params, GENTLE) or "")
    assert get_operator("extend").criteria(GENTLE, request.params)[0].name == "coherence"


def test_scene_transfer_names_the_new_scene_and_not_the_old() -> None:
    cafe = parent(("这家店的咖啡真好喝", "是呀，闻着就很香呢，你喜欢什么口味呀？"))
    reply = answer(("这家餐厅的牛排真好吃", "是呀，看着就很香呢，你喜欢几分熟呀？"), scene_words=["餐厅", "牛排"])
    request, result, model = draft("scene-transfer", cafe, reply, {"scenes": ["餐厅", "书店"], **LOOSE})
    assert "New scene: 餐厅" in prompt_text(model.calls[0][0]) and result.notes["scene_words"] == ["餐厅", "牛排"]
    assert codes("scene-transfer", request, result.turns, result.notes) == []
    assert "missing" in codes("scene-transfer", request, cafe.turns, result.notes)
    assert "not_new" in codes("scene-transfer", request, result.turns, {"scene_words": ["咖啡"]})


def test_style_transfer_restyles_the_replies_and_keeps_the_user() -> None:
    formal = parent(("我的订单还没发货", "您好，您的订单将在24小时内发出，请耐心等待。"))
    reply = answer(("我的订单还没发货", "别急呀，订单24小时内就会发出啦，你还好吗呢？"))
    loose = {"min_user_similarity": 0, "min_reply_similarity": 0}
    request, result, model = draft("style-transfer", formal, reply, loose)
    assert "辛苦啦" in prompt_text(model.calls[0][0])  # the target pack's examples are shown
    assert codes("style-transfer", request, result.turns, result.notes) == []
    assert codes("style-transfer", request, formal.turns, {}) == ["copy"]


def test_qa_to_dialogue_carries_the_answers_facts() -> None:
    faq = parent(("信用卡逾期会怎样", "逾期会产生每日万分之五的利息，逾期超过90天会影响征信。"))
    pairs = [("我信用卡逾期了会怎样呀", "逾期会产生每日万分之五的利息呢，你别太担心呀"),
             ("那会影响征信吗", "逾期超过90天会影响征信呢，尽快还上就好啦")]  # fmt: skip
    reply = answer(*pairs, facts=["每日万分之五的利息", "逾期超过90天会影响征信"])
    request, result, _ = draft("qa-to-dialogue", faq, reply, {"turns": 2, **LOOSE})
    assert result.notes["facts"] == ["每日万分之五的利息", "逾期超过90天会影响征信"] and len(result.turns) == 4
    assert codes("qa-to-dialogue", request, result.turns, result.notes) == []
    invented = {"facts": ["免收利息"]}
    assert "not_in_original" in codes("qa-to-dialogue", request, result.turns, invented)
    dialogue = parent(*pairs)
    assert "not one question" in (get_operator("qa-to-dialogue").refuse(dialogue, request.params, GENTLE) or "")


def test_hard_cases_change_one_detail_and_label_both() -> None:
    card = parent(("我的信用卡逾期了怎么办", "别慌呀，信用卡逾期先尽快还款呢，再联系银行申请减免"))
    labels = {"original_detail": "信用卡", "new_detail": "贷款", "original_case": "信用卡逾期", "new_case": "贷款逾期"}
    reply = json.dumps(
        {**labels, "exchanges": [{"user": "我的贷款逾期了怎么办", "assistant": "别慌呀，贷款逾期先联系放款机构呢"}]},
        ensure_ascii=False,
    )
    request, result, _ = draft("hard-cases", card, reply, {"min_user_similarity": 0})
    assert result.notes == labels
    assert codes("hard-cases", request, result.turns, result.notes) == []
    assert "same_case" in codes("hard-cases", request, result.turns, {**labels, "new_case": "信用卡逾期"})
    kept = [Turn(role="user", content="我的信用卡贷款逾期了怎么办"), result.turns[1]]
    assert "detail_kept" in codes("hard-cases", request, kept, labels)


def test_an_unparseable_answer_is_a_failed_draft_not_an_exception() -> None:
    _, result, _ = draft("paraphrase", CAT, "not json")
    assert result.turns == [] and result.error


def test_unknown_operators_and_bad_parameters_name_what_to_fix() -> None:
    with pytest.raises(OperatorError, match="unknown operator 'paraphrse'; operators: paraphrase, backtranslate"):
        get_operator("paraphrse")
    with pytest.raises(OperatorError, match="bad parameters for scene-transfer: scenes: Field required"):
        parse_spec("scene-transfer", {})
    with pytest.raises(OperatorError, match="extend: turns: Input should be less than or equal to 6"):
        parse_spec("extend", {"turns": 9})
    with pytest.raises(OperatorError, match="bad parameters for paraphrase: max_overlaps: Extra inputs"):
        parse_spec("paraphrase", {"max_overlaps": 0.5})
    assert [name for name, _ in describe_operators()][:2] == ["paraphrase", "backtranslate"]


@pytest.mark.parametrize("op", ["paraphrase", "style-transfer"])
def test_a_check_embeds_its_texts_in_one_round_trip(op: str) -> None:
    """Each embeddings call is on the child's critical path (0.1 s and more with a hosted embedder)."""
    child = [
        Turn(role="user", content="我家猫咪病了，真担心"),
        Turn(role="assistant", content="先别慌呢，带它看医生好吗？"),
    ]
    request = ChildRequest(CAT, GENTLE, parse_spec(op, {}))
    embedder = RecordingEmbedder()
    failures = get_operator(op).check(request, child, {}, embedder)
    assert embedder.embed_calls == 1, failures
    assert set(embedder.seen) >= {turn.content for turn in (*CAT.turns, *child)}
    assert len(embedder.seen) == len(set(embedder.seen))  # each text once
