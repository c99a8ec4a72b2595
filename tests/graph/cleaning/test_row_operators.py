from graph.cleaning.base import Change, Drop, Flag, Keep
from graph.cleaning.operators.chit_chat import ChitChat
from graph.cleaning.operators.language import Language, LanguageParams, detect_language
from graph.cleaning.operators.length import Length, LengthParams
from graph.cleaning.operators.refusals import Refusals
from graph.cleaning.operators.repetition import Repetition
from tests.graph.cleaning.helpers import row, texts


def test_length_merges_same_speaker_and_drops_trailing_question():
    decision = Length().decide(
        row("r", "在吗", "我卡丢了", "您好，请先挂失", "好的", roles=["user", "user", "assistant", "user"])
    )
    assert isinstance(decision, Change)
    assert [t.content for t in decision.turns] == ["在吗\n我卡丢了", "您好，请先挂失"]
    assert decision.what == "merged_turns+trailing_user"


def test_length_bounds_and_empty_turns():
    assert Length().decide(row("r", "hi", "   ")).code == "empty_turn"
    assert Length(LengthParams(assistant_min_chars=10)).decide(row("r", "hi", "短回复")).code == "too_short"
    assert Length().decide(row("r", "只有一个问题", roles=["user"])).code == "too_few_turns"
    assert Length().decide(row("r", "reply first", "q", roles=["assistant", "user"])).code == "structure"
    assert isinstance(Length().decide(row("r", "你好", "你好呀，有什么可以帮你？")), Keep)


def test_chit_chat_zh_and_en():
    op = ChitChat()
    assert op.decide(row("r", "在吗", "您好，在的！有什么可以帮您？")).code == "chit_chat"
    assert op.decide(row("r", "谢谢", "不客气，再见~ (^_^)")).code == "chit_chat"
    assert op.decide(row("r", "thanks!", "You're welcome, bye!")).code == "chit_chat"
    assert isinstance(op.decide(row("r", "你好", "您好，积分可以在App里兑换礼品哦")), Keep)


def test_repetition_catches_garbage_but_not_laughter():
    op = Repetition()
    assert op.decide(row("r", "hi", "啊" * 12)).code == "repeated_chars"
    assert op.decide(row("r", "hi", "这个问题我知道了。" * 5)).code in {"repeated_sentences", "repeated_ngram"}
    assert op.decide(row("r", "hi", "£¥€$%^&*@#¤§±×÷≠≈∞√∑∏∫∂∆∇⊂⊃∪∩∈∉ok ok ok")).code == "special_chars"
    assert op.decide(row("r", "hi", "我觉得你可以先去银行，然后")).code == "truncated"
    assert isinstance(op.decide(row("r", "hi", "哈哈哈哈，没事的啦(^_−)☆")), Keep)
    assert isinstance(op.decide(row("r", "hi", "好的")), Keep)


def test_refusals_zh_and_en_only_in_replies():
    op = Refusals()
    assert op.decide(row("r", "他住哪", "我无法回答这个问题，因为它涉及到个人隐私。")).code == "refusal"
    assert op.decide(row("r", "q", "As an AI language model, I cannot have opinions.")).code == "refusal"
    assert op.decide(row("r", "q", "I'm sorry, but I can't help with that.")).code == "refusal"
    assert op.decide(row("r", "作为一个AI你怎么看?", "我觉得挺好的呀~")) == Keep()


def test_language_scripts_first_and_detector_for_latin():
    assert detect_language("今天的meeting好累呀(｡•́︿•̀｡)") == "zh"
    assert detect_language("(^_−)☆") is None
    assert detect_language("ok") == "en"
    assert detect_language("これは日本語です") == "ja"
    assert detect_language("Je voudrais annuler ma carte bancaire demain") == "fr"
    assert detect_language("I would like to cancel my credit card tomorrow") == "en"
    zh = Language()
    assert isinstance(zh.decide(row("r", "你好", "好的呀~😊")), Keep)
    assert zh.decide(row("r", "hello", "I would like to cancel my credit card")).code == "wrong_language"
    flag = Language(LanguageParams(expected="en", mode="flag")).decide(row("r", "hi", "这是中文回复"))
    assert isinstance(flag, Flag)


def test_decisions_are_typed():
    assert isinstance(Refusals().decide(row("r", "q", "我无法回答")), Drop)
    assert texts(row("r", "a", "b")) == ["a", "b"]
