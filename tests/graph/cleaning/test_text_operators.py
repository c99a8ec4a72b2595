from graph.cleaning.base import Change, Keep
from graph.cleaning.operators.normalize import Normalize, NormalizeParams
from graph.cleaning.operators.pii import Pii, PiiParams
from graph.cleaning.operators.strip_html import StripHtml, StripHtmlParams
from tests.graph.cleaning.helpers import row

KAOMOJI = ["(^_−)☆", "(｡•́︿•̀｡)", "(´・ω・`)", "ヽ(✿ﾟ▽ﾟ)ノ", "(╯°□°）╯︵ ┻━┻", "好的呀~😊", "👨‍👩‍👧 家人❤️", "ʕ•ᴥ•ʔ"]


def edited(operator, text: str) -> str:
    decision = operator.decide(row("r", "hi", text))
    return text if isinstance(decision, Keep) else decision.turns[1].content


def test_normalize_keeps_every_kaomoji_and_emoji():
    op = Normalize()
    for text in KAOMOJI:
        assert edited(op, f"没事的{text}") == f"没事的{text}"


def test_seed_001_regex_would_have_destroyed_them():
    import re

    assert re.sub(r"[^\w\s\u4e00-\u9fa5]", "", "(^_−)☆") == "_"  # what the seed does, and we must not


def test_normalize_folds_full_width_letters_and_digits_but_not_chinese_punctuation():
    assert edited(Normalize(), "卡号尾号１２３４，ＯＫ！") == "卡号尾号1234，OK！"


def test_normalize_repairs_mojibake_and_whitespace():
    mojibake = "我的手机".encode().decode("latin-1")
    assert edited(Normalize(), mojibake) == "我的手机"
    assert edited(Normalize(), "  你好\u200b呀  \n\n\n\n再见   了  ") == "你好呀\n\n再见 了"


def test_normalize_keeps_code_indentation_and_zwj():
    code = "def f():\n    return 1"
    assert edited(Normalize(), code) == code


def test_normalize_traditional_to_simplified_only_when_asked():
    assert edited(Normalize(), "這個問題") == "這個問題"
    assert edited(Normalize(NormalizeParams(traditional_to_simplified=True)), "這個問題") == "这个问题"


def test_normalize_names_the_edits():
    decision = Normalize().decide(row("r", "ＡＢＣ", "x  y"))
    assert isinstance(decision, Change)
    assert decision.what == "unicode+whitespace"


def test_strip_html_uses_a_parser():
    text = "<p>您好&amp;欢迎</p><div>第二段<br>换行 <b>粗体</b></div><script>alert(1)</script>"
    assert edited(StripHtml(), text) == "您好&欢迎\n第二段\n换行 粗体"
    assert edited(StripHtml(), "5 < 6 and 7 > 3") == "5 < 6 and 7 > 3"  # not HTML: untouched


def test_strip_html_links_and_signatures():
    text = "详情见 https://example.com/a?b=1 谢谢\n发自我的iPhone"
    assert edited(StripHtml(), text) == "详情见 谢谢"
    placeholder = StripHtml(StripHtmlParams(urls="placeholder"))
    assert edited(placeholder, "see www.example.com now\nSent from my iPhone") == "see [URL] now"


def test_pii_redacts_with_typed_placeholders():
    text = "我的手机13812345678，邮箱 li.na@example.com，身份证11010519491231002X"
    assert edited(Pii(), text) == "我的手机[PHONE]，邮箱 [EMAIL]，身份证[ID_NUMBER]"
    assert edited(Pii(), "card 4111 1111 1111 1111 please") == "card [CARD_NUMBER] please"


def test_pii_drop_mode_never_quotes_the_data():
    decision = Pii(PiiParams(mode="drop")).decide(row("r", "call 13812345678", "ok"))
    assert decision.code == "pii"
    assert "138" not in decision.detail and "[PHONE]" in decision.detail


def test_pii_leaves_order_numbers_alone():
    assert edited(Pii(), "订单号#ORD12345，金额 1999 元，2024-05-01") == "订单号#ORD12345，金额 1999 元，2024-05-01"


def test_pii_names_and_addresses_when_asked():
    op = Pii(PiiParams(names=True, addresses=True))
    assert edited(op, "我叫王小明，住在北京市朝阳区建国路88号") == "我叫[NAME]，住在[ADDRESS]"
    assert edited(op, "Hi, my name is Jane Doe and I live at 42 Baker Street.") == (
        "Hi, my name is [NAME] and I live at [ADDRESS]."
    )
