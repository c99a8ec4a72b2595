"""``semantic-dedup``: paraphrases dropped by embedding cosine (the tests' hashed embedder), the first kept."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from graph.cleaning.base import Drop, Keep
from graph.cleaning.chain import ChainRunner
from graph.cleaning.operators.semantic_dedup import SemanticDedup
from graph.cleaning.registry import ChainError, build_operators, needs_embedder, needs_models, parse_ops, parse_recipe
from graph.datasets.rows import samples_table
from tests.fakes import FakeEmbedder
from tests.graph.cleaning.helpers import row

ROWS = [
    row("a", "我的信用卡被冻结了，怎么解冻？", "请拨打客服热线，核实身份后即可解冻。"),
    row("b", "积分商城在哪里兑换礼品？", "在App首页点击积分商城即可兑换。"),
    row("c", "我的信用卡被冻结了，要怎么解冻呢？", "请拨打客服热线，核实身份后就可以解冻。"),  # a rewording of a
    row("d", "How do I raise my credit limit?", "Open the app, go to Card, then Limit, and apply."),
    row("e", "How can I raise my credit limit?", "Open the app, go to Card, then Limit, and apply there."),  # of d
]


def _decide(operator: SemanticDedup, batches: list[list[int]]) -> dict[str, object]:
    decisions: dict[str, object] = {}
    for batch in batches:
        samples = [ROWS[index] for index in batch]
        for sample, decision in zip(samples, asyncio.run(operator.decide_batch(samples)), strict=True):
            decisions[sample.id] = decision
    operator.close()
    return decisions


@pytest.mark.parametrize("batches", [[[0, 1, 2, 3, 4]], [[0, 1], [2, 3], [4]]])
def test_paraphrases_are_dropped_naming_the_kept_row_within_and_across_batches(batches: list[list[int]]) -> None:
    [operator] = build_operators(
        parse_recipe({"ops": [{"semantic-dedup": {"threshold": 0.8}}]}), embedder=FakeEmbedder()
    )
    assert isinstance(operator, SemanticDedup)
    decisions = _decide(operator, batches)
    assert [sample_id for sample_id, d in decisions.items() if isinstance(d, Keep)] == ["a", "b", "d"]
    dropped = {sample_id: d for sample_id, d in decisions.items() if isinstance(d, Drop)}
    assert {key: (d.code, d.duplicate_of) for key, d in dropped.items()} == {
        "c": ("paraphrase", "a"),
        "e": ("paraphrase", "d"),
    }
    assert all(d.detail.startswith("cosine 0.") for d in dropped.values())


def test_a_high_threshold_keeps_rewordings_and_the_index_folder_goes_away() -> None:
    [operator] = build_operators(parse_ops("semantic-dedup"), embedder=FakeEmbedder())
    asyncio.run(operator.decide_batch(ROWS[:1]))
    folder = operator._index.folder  # type: ignore[attr-defined]
    assert folder.is_dir()
    strict = build_operators(parse_recipe({"ops": [{"semantic-dedup": {"threshold": 0.999}}]}), embedder=FakeEmbedder())
    assert all(isinstance(d, Keep) for d in _decide(strict[0], [[0, 1, 2, 3, 4]]).values())  # type: ignore[arg-type]
    operator.close()
    assert not Path(folder).exists()


def test_it_needs_an_embedder_no_style_and_no_model_and_its_parameters_are_checked() -> None:
    chain = parse_ops("normalize,semantic-dedup")
    assert needs_embedder(chain) and not needs_models(chain)
    assert chain.with_style(None) == chain  # no style asked for
    with pytest.raises(ChainError, match="no embedder"):
        build_operators(chain)
    with pytest.raises(ChainError, match=r"ops\.0\.semantic-dedup\.threshold"):
        parse_recipe({"ops": [{"semantic-dedup": {"threshold": 1.5}}]})


def test_in_a_chain_on_workers_the_dropped_row_names_its_kept_row() -> None:
    operators = build_operators(
        parse_recipe({"ops": ["normalize", {"semantic-dedup": {"threshold": 0.8}}]}), embedder=FakeEmbedder()
    )
    drops: list[tuple[str, str, str | None]] = []
    kept: list[str] = []
    runner = ChainRunner(operators, workers=0, on_drop=lambda i, op, code, of: drops.append((i, code, of)))
    report = asyncio.run(
        runner.run(
            [samples_table(ROWS[:3]), samples_table(ROWS[3:])], lambda c: kept.extend(c.table.column("id").to_pylist())
        )
    )
    assert kept == ["a", "b", "d"] and sorted(drops) == [("c", "paraphrase", "a"), ("e", "paraphrase", "d")]
    example = report.operators[1].examples["dropped:paraphrase"][0]
    assert example.duplicate_of == "a"
    assert operators[1].__dict__.get("_index") is None  # closed at the end of the run
