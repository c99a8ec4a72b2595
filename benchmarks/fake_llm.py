"""A deterministic stand-in for an LLM's answers, for tests and the pipeline-overhead benchmark.

It reads the rendered dialogforge prompts (topic, markers, language, criteria) and answers in the
JSON shape each role asks for, so the whole loop can run without a model. It is not a model: its
samples are template text and must never be used as data.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import random
import re
from typing import Any

ZH_WORDS = (
    "猫 狗 考试 加班 旅行 搬家 雨天 失眠 面试 减肥 生日 同学 老板 地铁 咖啡 电影 游戏 跑步 做饭 花园 "
    "钢琴 画画 外卖 快递 账单 积分 分期 年费 额度 挂失 手机 电脑 图书馆 演唱会 婚礼 医院 牙医 高铁 "
    "早餐 夜宵 奶茶 火锅 自行车 驾照 论文 实习 宿舍 邻居 周末 假期 春节 中秋 海边 爬山 露营"
).split()
EN_WORDS = (
    "parcel refund invoice password laptop headphones subscription coupon warranty delivery courier "
    "printer router charger blender sofa mattress jacket sneakers camera tablet kettle vacuum ticket "
    "hotel flight upgrade account loyalty points voucher installment battery screen keyboard monitor"
).split()


def _rng(text: str) -> random.Random:
    """Seed a generator from the prompt text, so answers are reproducible."""
    return random.Random(int(hashlib.sha256(text.encode()).hexdigest()[:16], 16))


def _find(pattern: str, text: str, default: str = "") -> str:
    match = re.search(pattern, text)
    return match.group(1).strip() if match else default


_brainstorms = itertools.count()


def _topics(prompt: str) -> str:
    chinese = "Simplified Chinese" in prompt
    count = int(_find(r"Give (\d+) new", prompt, "8"))
    # Like a model at temperature 1, two brainstorms with the same prompt give different topics.
    rng, words = _rng(f"{prompt}#{next(_brainstorms)}"), ZH_WORDS if chinese else EN_WORDS
    joiner = "和" if chinese else " and "
    topics = [joiner.join(rng.sample(words, 2)) for _ in range(count)]
    return json.dumps({"topics": topics}, ensure_ascii=False)


def _reply(topic: str, chinese: bool, marker: str) -> str:
    if chinese:
        return f"听起来{topic}真的让你很费心呢，{marker}先深呼吸一下，要不要和我说说现在的感受呀？(^_−)☆"
    return (
        f"I'm really sorry to hear about the trouble with {topic}; that sounds frustrating. "
        f"{marker}Let me look into it right away. Could you share the order number so I can help?"
    )


ZH_OPENINGS = ["最近", "这周", "昨天", "今天早上", "上个月", "刚才"]
ZH_FEELINGS = ["有点烦", "好焦虑", "特别开心", "很委屈", "不知道怎么办", "累坏了", "哭笑不得"]
EN_OPENINGS = ["Yesterday", "This morning", "Last week", "Two days ago", "Right now", "Since Monday"]
EN_FEELINGS = ["I'm upset", "I'm worried", "I'm confused", "I'm really annoyed", "I'm stuck", "I'm disappointed"]


ZH_TEMPLATES = [
    "{opening}因为{topic}{feeling}，还牵扯到{extra}",
    "{topic}这件事让我{feeling}，你说我该怎么办？",
    "跟你说个事：{opening}遇到{topic}，{extra}也一团糟",
    "为什么{topic}总是发生在我身上，{feeling}",
]
EN_TEMPLATES = [
    "{opening} my {topic} broke down, {feeling}, and the {extra} too.",
    "Can you help? The {topic} I ordered is a mess and {feeling}.",
    "{feeling}: nobody answers about my {topic}, and now the {extra} as well.",
    "Why does the {topic} keep failing? {opening} it happened again with the {extra}.",
]


def _user_turn(topic: str, chinese: bool, rng: random.Random) -> str:
    if chinese:
        template, extra = rng.choice(ZH_TEMPLATES), "、".join(rng.sample(ZH_WORDS, 2))
        return template.format(
            opening=rng.choice(ZH_OPENINGS), topic=topic, feeling=rng.choice(ZH_FEELINGS), extra=extra
        )
    template, extra = rng.choice(EN_TEMPLATES), " and ".join(rng.sample(EN_WORDS, 2))
    return template.format(opening=rng.choice(EN_OPENINGS), topic=topic, feeling=rng.choice(EN_FEELINGS), extra=extra)


def _count(schema: dict[str, Any], prompt: str) -> int:
    """How many exchanges the draft schema fixes (else what the prompt asks for, else 1)."""
    exchanges = schema.get("properties", {}).get("exchanges", {})
    if "minItems" in exchanges:
        return int(exchanges["minItems"])
    return int(_find(r"exactly (\d+) exchange", prompt, "1"))


def _passage_ids(schema: dict[str, Any]) -> list[str]:
    """The passage ids a grounded draft schema lets a reply cite ([] for an ungrounded one)."""
    for definition in schema.get("$defs", {}).values():
        cited = definition.get("properties", {}).get("cited")
        if cited:
            return list(cited.get("items", {}).get("enum", []))
    return []


def _dialogue(prompt: str, schema: dict[str, Any]) -> str:
    chinese = "Simplified Chinese" in prompt
    rng = _rng(prompt)
    topic = _find(r"Topic of the new sample: (.+)", prompt) or _find(r"User: (.+)", prompt, "今天的事")
    markers = _find(r"must contain at least one of: (.+?)\.", prompt)
    marker = markers.split(" / ")[0] + " " if markers else ""
    ids = _passage_ids(schema)
    exchanges = []
    for index in range(_count(schema, prompt)):
        exchange: dict[str, Any] = {"user": _user_turn(topic if index == 0 else f"{topic} {index}", chinese, rng)}
        if ids:
            exchange["cited"] = ids[:1]
        exchange["assistant"] = _reply(topic, chinese, marker)
        exchanges.append(exchange)
    return json.dumps({"exchanges": exchanges}, ensure_ascii=False)


def _verdict(prompt: str, schema: dict[str, Any]) -> str:
    criteria = [name.strip() for name in _find(r"Score the criteria: (.+)", prompt).split(",") if name.strip()]
    properties = schema.get("properties", {})
    answer: dict[str, Any] = {}
    for name in criteria:
        grounded = "Grounded" in str(properties.get(name, {}).get("$ref", ""))
        answer[name] = {**({"unsupported_claims": []} if grounded else {}), "reason": "fits the rubric", "score": 5}
    answer["feedback"] = ""
    return json.dumps(answer, ensure_ascii=False)


def fake_answer(prompt: str, schema: str | dict[str, Any]) -> str:
    """Answer a rendered dialogforge prompt in the JSON shape the schema asks for.

    Args:
        prompt: The rendered prompt text.
        schema: The ``response_format.json_schema`` object (``{"name", "schema"}``), or just its name.
    """
    name = schema if isinstance(schema, str) else str(schema.get("name", ""))
    body = {} if isinstance(schema, str) else dict(schema.get("schema") or {})
    if name == "TopicBatch":
        return _topics(prompt)
    if name == "JudgeAnswer":
        return _verdict(prompt, body)
    return _dialogue(prompt, body)
