"""Write the planted-noise cleaning benchmark: synthetic dialogues with known noise, and its answer key.

``python -m benchmarks.cleaning_data --rows 1000000 --out .data/bench/clean`` writes
``dialogues.jsonl`` (ShareGPT-like rows: ``{"id", "conversations": [{"from", "value"}]}``, what
peers read too) and ``truth.jsonl`` (per planted row: its kind and, for duplicates, the row it
copies with the true character-5-gram Jaccard similarity). Rows are bank-desk and companion
dialogues in Chinese and English, composed from random slots (products, amounts, places, times,
names) and a clause of random dictionary words, so that unrelated rows share phrases as real
logs do without being duplicates.

Planted (shares of all rows): exact duplicates (after case/space/punctuation folding) 5%,
near duplicates 5% (1-4 small edits: a swapped word, a changed number, a dropped or doubled
punctuation mark, an appended courtesy phrase; planted only when their true Jaccard is at least
0.7, so recall is measured on pairs that a 0.7 threshold should catch), PII (phone, e-mail, ID,
card) 4%, HTML 3%, refusals 4%.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from graph.cleaning.operators.exact_dedup import _NOT_WORD

ZH_USER = [
    "我的{card}昨天在{place}刷卡的时候被冻结了，请问要怎么解冻？",
    "想问一下{card}的积分能不能换{gift}，大概需要多少分？",
    "这个月账单多了一笔{amount}元的消费，我没印象，是不是被盗刷了？",
    "{card}的年费是多少？{time}之前办理的话可以免吗？",
    "我在{place}的时候忘了还款，已经逾期{days}天了，会影响征信吗？",
    "最近工作压力好大，{time}总是睡不着，有点烦。",
    "今天被{who}说了一顿，心情很差，想找人聊聊。",
    "周末想去{place}玩，你觉得带什么比较好？",
]
ZH_REPLY = [
    "您好，{card}冻结一般是风控触发，您可以带身份证到{place}附近的网点办理解冻，也可以在App里人工核实交易。",
    "积分兑换{gift}需要大约{points}分，您可以在App的积分商城里直接兑换，{time}前兑换还有加赠哦。",
    "别担心，{amount}元这笔我们先帮您登记，如果确认不是本人消费，可以申请调单，{days}个工作日内会有结果。",
    "{card}首年免年费，{time}前刷满{count}次也可以免次年年费，具体以App显示为准。",
    "逾期{days}天的话会产生少量利息，尽快还款后一般不会影响征信，您也可以申请一次宽限。",
    "抱抱你呀，压力大的时候先别逼自己，{time}可以试试听点轻音乐，慢慢来就好啦(^_−)☆",
    "被{who}说了肯定很难受吧，想哭就哭一会儿，我一直在这里听你说呢~",
    "去{place}的话记得带上防晒和充电宝，{time}人多，早点出发会轻松很多哦😊",
]
EN_USER = [
    "My {ecard} was blocked after a purchase in {eplace} yesterday, how do I unblock it?",
    "Can I use my {ecard} points for {egift}? How many points do I need?",
    "There is a charge of {amount} dollars on my statement that I don't recognise.",
    "I missed my payment while I was in {eplace}, it is {days} days late now. Will it hurt my credit?",
    "I've been so stressed at work lately, I can't sleep at {etime}.",
]
EN_REPLY = [
    "Blocks usually come from fraud checks. Verify the purchase in the app or visit a branch in {eplace} with your ID.",
    "You need about {points} points for {egift}; redeem them in the rewards section of the app before {etime}.",
    "We can open a dispute for the {amount} dollar charge; you will hear back within {days} business days.",
    "A payment {days} days late adds some interest, but paying now usually keeps your credit report clean.",
    "That sounds exhausting. Try winding down without screens before {etime}, and be gentle with yourself.",
]
SLOTS = {
    "card": ["信用卡", "白金卡", "储蓄卡", "联名卡", "留学卡", "金卡"],
    "place": ["商场", "机场", "超市", "杭州", "成都", "三亚", "上海", "便利店", "加油站", "西湖", "迪士尼"],
    "gift": ["里程", "咖啡券", "电影票", "行李箱", "话费", "购物卡"],
    "time": ["月底", "周五", "晚上", "凌晨", "下周", "春节", "年底", "明天"],
    "who": ["老板", "妈妈", "同事", "老师", "男朋友", "客户"],
    "ecard": ["credit card", "platinum card", "debit card", "travel card"],
    "eplace": ["Paris", "the airport", "a mall", "Tokyo", "Berlin", "a gas station", "Rome"],
    "egift": ["air miles", "a coffee voucher", "movie tickets", "a gift card"],
    "etime": ["midnight", "Friday", "the end of the month", "night", "next week"],
}
EXTRAS_ZH = ["另外", "顺便问一下", "还有就是", "对了", "麻烦问下", "我想确认", "请帮我看看", "不好意思"]
REFUSALS = [
    "我无法回答这个问题，因为它涉及到个人隐私。",
    "作为一个AI语言模型，我不能提供这方面的建议。",
    "As an AI language model, I cannot help with that request.",
    "I'm sorry, but I can't assist with that.",
]
HTML = ["<p>{text}</p>", "<div><b>{text}</b><br>点击 <a href='https://x.example/a'>这里</a></div>", "{text}&nbsp;<br/>"]
PII = ["请回电13{d9}", "我的邮箱是user{d4}@example.com", "卡号是{card}", "身份证号11010519491231002X"]


def card_number(rng: random.Random) -> str:
    """Return a random 16-digit UnionPay-prefixed number that passes Luhn."""
    from agents.pii import luhn_valid

    while True:
        number = "6222" + "".join(str(rng.randint(0, 9)) for _ in range(12))
        if luhn_valid(number):
            return number


def vocabulary() -> tuple[list[str], list[str]]:
    """Return Chinese words (jieba's dictionary, frequent ones) and English-like pseudo-words."""
    import jieba

    path = Path(jieba.__file__).parent / "dict.txt"
    words = []
    for line in path.read_text(encoding="utf-8").splitlines():
        word, freq, _tag = line.split(" ")
        if int(freq) >= 50 and all("\u4e00" <= char <= "\u9fff" for char in word):
            words.append(word)
    syllables = [c + v for c in "bcdfghklmnprstvwz" for v in ("a", "e", "i", "o", "u", "ai", "ou", "ea")]
    rng = random.Random(0)
    english = sorted({"".join(rng.choice(syllables) for _ in range(rng.randint(1, 3))) for _ in range(20000)})
    return words, english


ZH_WORDS, EN_WORDS = vocabulary()


def details(zh: bool, rng: random.Random) -> str:
    """Return a clause of 6-14 random words: what makes unrelated rows differ, as real requests do."""
    words = rng.choices(ZH_WORDS if zh else EN_WORDS, k=rng.randint(6, 14))
    return ("，具体是" + "".join(words) + "。") if zh else (" Details: " + " ".join(words) + ".")


def fill(template: str, rng: random.Random) -> str:
    """Fill a template's slots with random values (and random numbers)."""
    values: dict[str, object] = {key: rng.choice(options) for key, options in SLOTS.items()}
    values.update(amount=rng.randint(12, 9999), days=rng.randint(1, 90), points=rng.randint(2, 80) * 1000)
    values.update(count=rng.randint(3, 12))
    return template.format(**values)


def dialogue(rng: random.Random) -> list[tuple[str, str]]:
    """Return a random one- or two-exchange dialogue in Chinese (75%) or English."""
    zh = rng.random() < 0.75
    users, replies = (ZH_USER, ZH_REPLY) if zh else (EN_USER, EN_REPLY)
    turns = []
    for _ in range(rng.choice((1, 1, 2))):
        user = fill(rng.choice(users), rng)
        if zh and rng.random() < 0.5:
            user = f"{rng.choice(EXTRAS_ZH)}，{user}"
        turns += [("human", user + details(zh, rng)), ("gpt", fill(rng.choice(replies), rng) + details(zh, rng))]
    return turns


def shingles(text: str, n: int = 5) -> set[str]:
    """Return the character n-grams of a folded text (as near-dedup compares them)."""
    folded = _NOT_WORD.sub("", text.casefold())
    return {folded[i : i + n] for i in range(max(1, len(folded) - n + 1))}


def jaccard(left: list[tuple[str, str]], right: list[tuple[str, str]]) -> float:
    """Return the true Jaccard similarity of two dialogues' shingle sets."""
    a = shingles("".join(text for _, text in left))
    b = shingles("".join(text for _, text in right))
    return len(a & b) / len(a | b)


def near_copy(turns: list[tuple[str, str]], rng: random.Random) -> list[tuple[str, str]]:
    """Return a copy with 1-4 small edits."""
    edited = [list(turn) for turn in turns]
    for _ in range(rng.randint(1, 4)):
        turn = rng.choice(edited)
        text = turn[1]
        choice = rng.random()
        if choice < 0.3:
            at = rng.randrange(len(text))
            turn[1] = text[:at] + rng.choice("的了呢啊很也就又") + text[at:]
        elif choice < 0.55:
            turn[1] = text.replace("，", "。", 1) if "，" in text else text + "!"
        elif choice < 0.8:
            turn[1] = text + rng.choice(["谢谢", "好的", "谢谢啦", " thanks"])
        else:
            at = rng.randrange(len(text))
            turn[1] = text[:at] + text[at + 1 :]
    return [(role, text) for role, text in edited]


def main() -> None:
    """Write the benchmark files."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--out", type=Path, default=Path(".data/bench/clean"))
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    recent: list[tuple[str, list[tuple[str, str]]]] = []
    planted: dict[str, int] = {}
    with (
        (args.out / "dialogues.jsonl").open("w", encoding="utf-8") as rows,
        (args.out / "truth.jsonl").open("w", encoding="utf-8") as truth,
    ):
        for index in range(args.rows):
            row_id = f"r{index:07d}"
            roll = rng.random()
            kind, record = "clean", dict[str, object]()
            turns = dialogue(rng)
            if roll < 0.05 and recent:
                source_id, source = rng.choice(recent)
                turns = [(role, text.upper() if text.isascii() else text + "！") for role, text in source]
                kind, record = "exact_duplicate", {"of": source_id}
            elif roll < 0.10 and recent:
                source_id, source = rng.choice(recent)
                copy = near_copy(source, rng)
                similarity = jaccard(copy, source)
                if similarity >= 0.7 and _NOT_WORD.sub("", "".join(t for _, t in copy).casefold()) != _NOT_WORD.sub(
                    "", "".join(t for _, t in source).casefold()
                ):
                    turns, kind, record = copy, "near_duplicate", {"of": source_id, "jaccard": round(similarity, 3)}
            elif roll < 0.14:
                values = {"d9": rng.randint(10**8, 10**9 - 1), "d4": rng.randint(1000, 9999), "card": card_number(rng)}
                pii = rng.choice(PII).format(**values)
                turns[0] = (turns[0][0], f"{turns[0][1]}{pii}")
                kind = "pii"
            elif roll < 0.17:
                turns[1] = (turns[1][0], rng.choice(HTML).format(text=turns[1][1]))
                kind = "html"
            elif roll < 0.21:
                turns[-1] = (turns[-1][0], rng.choice(REFUSALS))
                kind = "refusal"
            if kind in ("clean", "pii", "html") and rng.random() < 0.3:
                recent.append((row_id, turns))
                if len(recent) > 5000:
                    recent.pop(rng.randrange(len(recent)))
            planted[kind] = planted.get(kind, 0) + 1
            conversations = [{"from": role, "value": text} for role, text in turns]
            rows.write(json.dumps({"id": row_id, "conversations": conversations}, ensure_ascii=False) + "\n")
            if kind != "clean":
                truth.write(json.dumps({"id": row_id, "kind": kind, **record}) + "\n")
    print(json.dumps({"rows": args.rows, "planted": planted, "out": str(args.out)}))


if __name__ == "__main__":
    main()
