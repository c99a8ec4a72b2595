"""Planted paraphrases: precision and recall of ``semantic-dedup`` (e5) beside ``near-dedup`` (MinHash), and rows/s.

``python -m benchmarks.paraphrase_dedup [--embedder e5]`` builds a small labelled set: per intent
of a bank's support desk (zh and en) one dialogue and a paraphrase of it (other words, same
question and answer), and the intents are each other's hard negatives (same domain, other
question). Each row set is cleaned by ``semantic-dedup`` at several thresholds and by ``near-dedup``
(default parameters); a drop is right when the row is a planted paraphrase of a row kept before.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
from typing import Any

from agents.embeddings import Embedder, make_embedder
from agents.schemas import Lineage, Sample, Turn
from graph.cleaning.chain import ChainRunner
from graph.cleaning.registry import build_operators, parse_recipe
from graph.datasets.rows import samples_table

PAIRS: list[tuple[tuple[str, str], tuple[str, str]]] = [
    (("我的信用卡被冻结了，怎么解冻？", "请拨打客服热线，核实身份后即可解冻。"),
     ("卡被冻住了，要怎样才能恢复使用？", "您打一下客服电话，验证身份以后就能解除冻结。")),
    (("积分怎么兑换礼品？", "在App的积分商城里选择礼品兑换就可以。"),
     ("请问积分要如何换成礼物呢？", "打开手机银行的积分商城，挑好礼品点兑换即可。")),
    (("信用卡额度可以提高吗？", "用卡满半年后可以在App里申请提额。"),
     ("我想把卡的额度调高一些，行不行？", "持卡六个月以上就能在手机银行上提交提额申请。")),
    (("卡丢了怎么办？", "请立即拨打客服电话挂失，然后补办新卡。"),
     ("我的银行卡不见了，该怎么处理？", "马上打客服热线办理挂失，之后再申请补卡。")),
    (("账单日是哪天？", "您的账单日是每月5号，还款日是25号。"),
     ("每个月什么时候出账单？", "每月五号出账单，二十五号之前还款就行。")),
    (("分期手续费是多少？", "12期分期的手续费率是每期0.6%。"),
     ("办分期要收多少手续费呀？", "分十二期的话，每期收百分之零点六的手续费。")),
    (("境外消费有手续费吗？", "境外刷卡收取1.5%的货币转换费。"),
     ("在国外刷卡要额外付费吗？", "海外消费会收百分之一点五的货币兑换手续费。")),
    (("怎么开通短信提醒？", "在App设置里打开动账短信通知即可。"),
     ("我想收到消费短信通知，怎么设置？", "进入手机银行的设置，开启交易短信提醒就可以了。")),
    (("逾期了会影响征信吗？", "逾期超过三天会上报征信，请尽快还款。"),
     ("晚还几天会不会上征信记录？", "超过三天未还款就会报送征信，建议您尽早还上。")),
    (("年费怎么免？", "一年内刷卡满六次即可免次年年费。"),
     ("有什么办法不交年费吗？", "每年用卡消费六笔以上，第二年的年费就免了。")),
    (("How do I reset my online banking password?", "Tap Forgot password on the login page and follow the SMS code."),
     ("I forgot my app password, how can I change it?", "On the sign-in screen pick Forgot password, enter the code.")),
    (("Can I increase my credit limit?", "After six months of use you can apply for a higher limit in the app."),
     ("Is it possible to get a bigger limit on my card?", "After six months, ask for a higher limit in the app.")),
    (("My card was stolen, what should I do?", "Call us now to block the card, then order a replacement."),
     ("Someone took my card. What do I do?", "Phone the hotline right away to freeze it and ask for a new card.")),
    (("When is my payment due?", "Your statement closes on the 5th and payment is due on the 25th."),
     ("What day do I have to pay my bill?", "Statements are issued on the 5th; pay by the 25th.")),
    (("Are there fees for using my card abroad?", "Purchases abroad carry a 1.5% currency conversion fee."),
     ("Will I be charged extra when I pay overseas?", "Yes, foreign payments carry a 1.5 percent charge.")),
    (("How do I turn on transaction alerts?", "Enable SMS alerts under Settings in the app."),
     ("Can I get a text every time I spend money?", "Yes: in the app's Settings, switch on SMS notices.")),
    (("Does paying late hurt my credit score?", "Paying over three days late is reported to the bureau."),
     ("Will a few days late show on my credit report?", "Anything over three days late gets reported.")),
    (("How can I avoid the annual fee?", "Make six purchases in a year and next year's fee is waived."),
     ("Is there a way to not pay the yearly fee?", "Use the card six times a year and we waive the next fee.")),
]  # fmt: skip


def sample(sample_id: str, user: str, assistant: str) -> Sample:
    """Return one two-turn row."""
    turns = [Turn(role="user", content=user), Turn(role="assistant", content=assistant)]
    return Sample(id=sample_id, status="accepted", system="", turns=turns, lineage=Lineage(style="", topic=""))


def rows() -> tuple[list[Sample], dict[str, str]]:
    """Return the rows (every original, then every paraphrase) and per paraphrase the original's id."""
    originals = [sample(f"o{i}", *pair[0]) for i, pair in enumerate(PAIRS)]
    copies = [sample(f"p{i}", *pair[1]) for i, pair in enumerate(PAIRS)]
    return originals + copies, {f"p{i}": f"o{i}" for i in range(len(PAIRS))}


def run(recipe: dict[str, Any], samples: list[Sample], embedder: Embedder) -> tuple[dict[str, str | None], float]:
    """Clean the rows with one operator; return the dropped ids (with the row each duplicates) and the seconds."""
    operators = build_operators(parse_recipe(recipe), embedder=embedder)
    dropped: dict[str, str | None] = {}
    runner = ChainRunner(operators, workers=0, on_drop=lambda i, op, code, of: dropped.__setitem__(i, of))
    started = time.perf_counter()
    asyncio.run(runner.run([samples_table(samples)], lambda cleaned: None))
    return dropped, time.perf_counter() - started


def scores(dropped: dict[str, str | None], planted: dict[str, str]) -> str:
    """Precision and recall of the drops against the planted paraphrases (a drop must name the original)."""
    right = sum(1 for sample_id, of in dropped.items() if planted.get(sample_id) == of)
    precision = right / len(dropped) if dropped else 1.0
    return f"precision {precision:.3f} recall {right / len(planted):.3f} ({len(dropped)} dropped)"


def main() -> None:
    """Print precision, recall and rows/s of near-dedup and semantic-dedup at several thresholds."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embedder", default="e5", help="DIALOGFORGE_EMBEDDER spec (default e5)")
    args = parser.parse_args()
    samples, planted = rows()
    print(f"load {os.getloadavg()[0]:.2f}; {len(samples)} rows, {len(planted)} planted paraphrases")
    embedder = make_embedder(args.embedder)
    dropped, seconds = run({"ops": ["near-dedup"]}, samples, embedder)
    print(f"near-dedup (MinHash, defaults): {scores(dropped, planted)}, {len(samples) / seconds:.0f} rows/s")
    for text in ("dialogue", "user"):
        for threshold in (0.85, 0.88, 0.9, 0.92, 0.93, 0.95):
            recipe = {"ops": [{"semantic-dedup": {"threshold": threshold, "text": text}}]}
            dropped, seconds = run(recipe, samples, embedder)
            rate = len(samples) / seconds
            print(f"semantic-dedup {threshold} text={text}: {scores(dropped, planted)}, {rate:.0f} rows/s")
    print(f"load {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
