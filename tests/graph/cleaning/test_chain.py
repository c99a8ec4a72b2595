import asyncio

import pytest

from graph.cleaning.chain import ChainRunner
from graph.cleaning.registry import ChainError, build_operators, parse_ops, parse_recipe
from graph.datasets.rows import batch_samples, samples_table
from tests.graph.cleaning.helpers import row, texts


def dirty_rows():
    return [
        row("ok", "你好，积分怎么兑换？", "在App的积分商城里兑换就可以啦(^_−)☆"),
        row("html", "<p>卡丢了&amp;怎么办</p>", "请先挂失，电话13812345678"),
        row("dup", "你好，积分怎么兑换？", "在App的积分商城里兑换就可以啦(^_−)☆"),
        row("refuse", "他住在哪里", "我无法回答这个问题，因为它涉及到个人隐私。"),
        row("chat", "在吗", "您好，在的！"),
        row("empty", "hi", " "),
        row("ok2", "How do I raise my card limit?", "Open the app, go to Card > Limit, and request an increase."),
    ]


def run(workers, batches):
    operators = build_operators(parse_ops("default"))
    out = []

    def keep(cleaned):
        out.extend(zip(batch_samples(cleaned.table), cleaned.changed_by, strict=True))

    report = asyncio.run(ChainRunner(operators, workers=workers).run([samples_table(b) for b in batches], keep))
    return out, report


def test_default_chain_explains_every_drop_and_change():
    out, report = run(0, [dirty_rows()[:3], dirty_rows()[3:]])
    assert [sample.id for sample, _ in out] == ["ok", "html", "ok2"]
    assert texts(out[1][0]) == ["卡丢了&怎么办", "请先挂失，电话[PHONE]"]
    assert out[1][1] == ["strip-html", "pii"]
    assert out[0][0].turns == dirty_rows()[0].turns
    assert report.rows_in == 7 and report.rows_out == 3
    drops = report.dropped_by_code()
    assert drops == {
        "length:empty_turn": 1,
        "chit-chat:chit_chat": 1,
        "refusals:refusal": 1,
        "exact-dedup:exact_duplicate": 1,
    }
    pii = next(op for op in report.operators if op.name == "pii")
    assert pii.changed == {"phone": 1}
    assert "13812345678" not in report.model_dump_json()
    assert report.operators[-2].examples["dropped:exact_duplicate"][0].duplicate_of == "ok"
    assert report.before.rows == 7 and report.after.rows == 3


def test_workers_give_the_same_result_as_one_process():
    batches = [dirty_rows()[:2], dirty_rows()[2:5], dirty_rows()[5:]]
    alone, report_alone = run(0, batches)
    pooled, report_pooled = run(2, batches)
    assert alone == pooled
    assert report_alone.dropped_by_code() == report_pooled.dropped_by_code()


def test_ops_text_and_recipes_are_validated_with_field_names():
    chain = parse_ops("default,refusals:rewrite")
    assert [op.name for op in chain.ops][-1] == "refusals" and chain.ops[-1].params == {"mode": "rewrite"}
    assert [op.name for op in chain.ops].count("refusals") == 1
    with pytest.raises(ChainError, match="unknown operator 'dedup'; operators: normalize"):
        parse_ops("normalize,dedup")
    with pytest.raises(ChainError, match=r"ops.0.refusals.mode: Input should be 'drop' or 'rewrite'"):
        parse_ops("refusals:erase")
    with pytest.raises(ChainError, match=r"ops.1.near-dedup.treshold: Extra inputs are not permitted"):
        parse_recipe({"ops": ["normalize", {"near-dedup": {"treshold": 0.8}}]})
    with pytest.raises(ChainError, match="takes no ':value'"):
        parse_ops("normalize:yes")
    recipe = parse_recipe({"ops": ["normalize", {"pii": {"mode": "drop", "names": True}}]})
    assert recipe.ops[1].params == {"mode": "drop", "names": True}
