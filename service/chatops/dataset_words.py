"""The words of the data set commands: version refs, operator words and operator parameters, in English and Chinese.

Pure lookups for :mod:`service.chatops.grammar`; each problem returns None (the grammar words the
error, listing what exists).
"""

from __future__ import annotations

from typing import Literal

from agents.augment.registry import SHORTHANDS
from agents.augment.registry import operator_names as augment_operator_names
from graph.datasets.errors import InvalidNameError
from graph.datasets.refs import parse_ref

# Chinese (and short English) words for the augmentation operators.
AUGMENT_WORDS: dict[str, str] = {
    "换个说法": "paraphrase",
    "换说法": "paraphrase",
    "改写": "paraphrase",
    "复述": "paraphrase",
    "同义改写": "paraphrase",
    "回译": "backtranslate",
    "翻译回来": "backtranslate",
    "扩展": "extend",
    "续写": "extend",
    "加轮": "extend",
    "多轮": "extend",
    "难例": "hard-cases",
    "困难样例": "hard-cases",
    "边界": "hard-cases",
    "换场景": "scene-transfer",
    "场景迁移": "scene-transfer",
    "转风格": "style-transfer",
    "风格迁移": "style-transfer",
    "问答转对话": "qa-to-dialogue",
    "问答": "qa-to-dialogue",
    "rephrase": "paraphrase",
    "reword": "paraphrase",
    "backtranslation": "backtranslate",
    "hard": "hard-cases",
}


def is_ref(word: str) -> bool:
    """Return whether a word reads as a version reference: ``name``, ``name@3``, ``name@v1.1`` (the store's rules)."""
    try:
        parse_ref(word)
    except InvalidNameError:
        return False
    return True


def augment_op(word: str) -> str | None:
    """Return the augmentation operator a word names (its name, or a Chinese or English alias), else None."""
    lowered = word.lower()
    if lowered in augment_operator_names():
        return lowered
    return AUGMENT_WORDS.get(word) or AUGMENT_WORDS.get(lowered)


def augment_op_list() -> str:
    """Return the operators with their Chinese words, e.g. ``paraphrase (换个说法, 改写)``."""
    parts = []
    for name in augment_operator_names():
        words = [word for word, op in AUGMENT_WORDS.items() if op == name and not word.isascii()]
        parts.append(f"{name} ({', '.join(words)})" if words else name)
    return ", ".join(parts)


# The operator parameters a chat command can set (the CLI's shorthands: ``--scenes``, ``--via``,
# ``--turns``, ``--focus``), by name or Chinese word: ``场景=餐厅,书店``, ``via=en``, ``轮数=4``.
PARAM_WORDS: dict[str, str] = {
    **{name: name for name in SHORTHANDS},
    "scene": "scenes",
    "场景": "scenes",
    "经由": "via",
    "中转": "via",
    "中转语言": "via",
    "轮数": "turns",
    "轮": "turns",
    "重点": "focus",
    "焦点": "focus",
}
ParamKind = Literal["list", "text", "number"]
PARAM_KINDS: dict[str, ParamKind] = {"scenes": "list", "via": "list", "turns": "number", "focus": "text"}
PARAM_EXAMPLES: dict[str, str] = {
    "scenes": "场景=餐厅,书店",
    "via": "via=en",
    "turns": "轮数=4",
    "focus": "重点=信用卡逾期",
}
_ASSIGN = ("=", "＝", ":", "：")

# Languages by their Chinese names, for ``via`` (the pivot languages of backtranslate).
LANGUAGE_WORDS: dict[str, str] = {
    "英语": "en",
    "英文": "en",
    "中文": "zh",
    "汉语": "zh",
    "日语": "ja",
    "日文": "ja",
    "韩语": "ko",
    "韩文": "ko",
    "法语": "fr",
    "德语": "de",
    "西班牙语": "es",
    "俄语": "ru",
}


def param_assignment(word: str) -> tuple[str, str] | None:
    """Return (parameter, first value) of a word like ``场景=餐厅`` or ``turns:4`` (the value may be empty), or None."""
    for sign in _ASSIGN:
        key, found, value = word.partition(sign)
        if found and (param := PARAM_WORDS.get(key.lower())) is not None:
            return param, value
    return None


def param_value(param: str, word: str) -> str:
    """Return a parameter's value as the operators read it (a language's Chinese name as its code)."""
    return LANGUAGE_WORDS.get(word, word.lower()) if param == "via" else word
