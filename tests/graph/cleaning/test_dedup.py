import numpy as np

from graph.cleaning import hash_index
from graph.cleaning.base import Drop, Keep
from graph.cleaning.hash_index import HashRuns, IdList
from graph.cleaning.operators.exact_dedup import ExactDedup
from graph.cleaning.operators.near_dedup import NearDedup, NearDedupParams
from tests.graph.cleaning.helpers import row


def admit(op, batches):
    index = op.new_index()
    decisions = []
    for batch in batches:
        decisions += index.admit([s.id for s in batch], op.keys(batch))
    return decisions


def test_hash_runs_keep_the_earliest_row_across_merges():
    runs = HashRuns()
    for start in range(0, 100, 10):
        runs.add(np.arange(start, start + 10, dtype=np.uint64) % 37, np.arange(start, start + 10))
    found = runs.lookup(np.array([0, 36, 99], dtype=np.uint64))
    assert found.tolist() == [0, 36, -1]
    assert 37 <= len(runs) <= 100


def test_large_runs_and_ids_are_read_back_from_their_temporary_files(monkeypatch):
    monkeypatch.setattr(hash_index, "SPILL_ENTRIES", 16)  # every merged run of 16+ entries goes to disk
    runs = HashRuns()
    for start in range(0, 200, 10):
        runs.add(np.arange(start, start + 10, dtype=np.uint64) * 7919, np.arange(start, start + 10))
    assert runs.lookup(np.array([0, 150 * 7919, 199 * 7919, 5], dtype=np.uint64)).tolist() == [0, 150, 199, -1]
    assert runs.nbytes == 200 * 8  # only the uint64 keys: the row numbers are in the temporary files
    ids = IdList()
    ids.extend(["a", "密钥-é", ""])
    ids.extend(["4f87e919f6b3fc55"])
    assert [ids[row] for row in range(len(ids))] == ["a", "密钥-é", "", "4f87e919f6b3fc55"]


def test_exact_dedup_compares_every_turn_after_folding():
    rows = [
        row("a", "你好", "积分怎么兑换？在App里。"),
        row("b", "你好！", "积分怎么兑换 在app里"),  # same after folding case, spaces and punctuation
        row("c", "你好", "积分怎么兑换？在柜台。"),  # a later turn differs: not a duplicate
    ]
    decisions = admit(ExactDedup(), [rows[:1], rows[1:]])
    assert isinstance(decisions[0], Keep) and isinstance(decisions[2], Keep)
    assert decisions[1] == Drop("exact_duplicate", "same dialogue as an earlier row", "a")


def test_near_dedup_finds_small_edits_in_chinese_and_keeps_the_first():
    base = "您好，我的信用卡昨天在商场刷卡的时候被冻结了，请问要怎么解冻呢？我已经试过重启手机银行了。"
    reply = "您好，卡片冻结一般是风控触发，您可以带上身份证到网点办理解冻，也可以拨打客服热线核实交易。"
    edited = base.replace("昨天", "前天").replace("商场", "超市")
    other = "我想问一下积分能不能换里程，换算比例是多少，有没有上限，过期了还能不能补回来呢，谢谢。"
    batch = [row("a", base, reply), row("b", other, reply[::-1]), row("c", edited, reply)]
    decisions = admit(NearDedup(), [batch[:2], batch[2:]])
    assert isinstance(decisions[0], Keep) and isinstance(decisions[1], Keep)
    assert isinstance(decisions[2], Drop) and decisions[2].duplicate_of == "a"


def test_near_dedup_within_one_batch_and_threshold():
    text = "The card was blocked after a purchase abroad and the app says to call the bank, what should I do?"
    batch = [
        row("a", text, "Call the number on the back of the card."),
        row("b", text + "!!", "Call the number on the back of the card."),
    ]
    decisions = admit(NearDedup(), [batch])
    assert isinstance(decisions[1], Drop) and decisions[1].duplicate_of == "a"
    strict = admit(
        NearDedup(NearDedupParams(threshold=1.0)), [[row("a", "abcdefghij", "x"), row("b", "abcdefghik", "x")]]
    )
    assert all(isinstance(d, Keep) for d in strict)
