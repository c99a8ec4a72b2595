"""Prices per model and a job's cost report (no sockets)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.pricing import PriceTable, PricingError
from agents.schemas import TokenUsage


def test_exact_then_longest_prefix_and_unknown_models() -> None:
    table = PriceTable()
    assert table.price("gpt-4o-mini") is not None
    dated = table.price("gpt-4o-mini-2024-07-18")
    assert dated is not None and dated.input == 0.15  # not gpt-4o's price
    assert table.price("mystery-model") is None
    assert table.cost("qwen2.5-coder-1.5b-instruct", TokenUsage(calls=1, input_tokens=10**6)) == 0.0


def test_cost_and_batch_discount() -> None:
    table = PriceTable()
    usage = TokenUsage(calls=2, input_tokens=1_000_000, output_tokens=500_000)
    assert table.cost("gpt-4o-mini", usage) == pytest.approx(0.15 + 0.30)
    assert table.cost("gpt-4o-mini", usage, batch=True) == pytest.approx(0.225)
    assert table.cost("deepseek-chat", usage, batch=True) == pytest.approx(0.27 + 0.55)  # no batch discount


def test_report_per_role_per_accepted_and_unpriced() -> None:
    table = PriceTable()
    tokens = {"generator": TokenUsage(calls=1, input_tokens=2_000_000), "judge": TokenUsage(calls=1, output_tokens=10)}
    report = table.report(tokens, {"generator": "gpt-4o", "judge": "house-model"}, 4, {"near_duplicate": 0.5})
    assert report.total_usd == pytest.approx(5.0) and report.per_accepted_usd == pytest.approx(1.25)
    assert report.per_role_usd == {"generator": pytest.approx(5.0), "judge": 0.0}
    assert report.unpriced_models == ["house-model"] and report.rejected_by_reason_usd == {"near_duplicate": 0.5}


def test_a_price_file_overrides_and_adds(tmp_path: Path) -> None:
    path = tmp_path / "prices.yaml"
    path.write_text("house-model: {input: 1, output: 2}\ngpt-4o: {input: 9, output: 9}\n", encoding="utf-8")
    table = PriceTable.load(path)
    assert table.cost("house-model", TokenUsage(input_tokens=10**6, output_tokens=10**6)) == 3.0
    price = table.price("gpt-4o")
    assert price is not None and price.input == 9


@pytest.mark.parametrize(
    ("text", "message"),
    [("m: {input: -1, output: 0}", "m.input: Input should be greater than or equal to 0"), ("- a\n- b", "expected")],
)
def test_a_bad_price_file_names_the_field(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "prices.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(PricingError, match=message):
        PriceTable.load(path)
    with pytest.raises(PricingError, match="cannot read"):
        PriceTable.load(tmp_path / "missing.yaml")
