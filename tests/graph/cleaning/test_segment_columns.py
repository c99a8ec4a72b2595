"""The first segment computed elsewhere, carried as columns and re-cut: the same rows and report as run()."""

import asyncio

import pyarrow as pa

from graph.cleaning.base import KeyedOperator
from graph.cleaning.batch import light_samples
from graph.cleaning.chain import ChainRunner
from graph.cleaning.registry import build_operators, parse_ops
from graph.cleaning.segment import run_segment
from graph.cleaning.segment_columns import decode, encode
from graph.datasets.rows import INPUT_SCHEMA, batch_samples, samples_table
from tests.graph.cleaning.helpers import row
from tests.graph.cleaning.test_chain import dirty_rows

CHAIN = "default,language:zh"  # a row operator after the keyed ones: decided on rows dedup may drop


def near_rows():
    base = "您好，信用卡的积分可以在App的积分商城里兑换礼品和里程，每月一号更新一次积分"
    return [row(f"n{i}", "积分怎么兑换", base + tail) for i, tail in enumerate(["", "呢", "哦", "啦", "吧", "呀"])]


def cleaned(runner_call):
    out = []

    def keep(batch):
        out.extend(zip(batch_samples(batch.table), batch.changed_by, strict=True))

    report = asyncio.run(runner_call(keep))
    return out, report


def test_replay_of_encoded_results_cut_differently_equals_a_local_run():
    rows = dirty_rows() + near_rows() + dirty_rows()[:2]
    local, local_report = cleaned(
        lambda keep: ChainRunner(build_operators(parse_ops(CHAIN)), workers=0).run(
            [samples_table(rows[:5]), samples_table(rows[5:])], keep
        )
    )

    runner = ChainRunner(build_operators(parse_ops(CHAIN)), workers=0)
    segment = runner.first_segment
    assert segment is not None and len(segment) == 10
    keyed = [position for position, op in segment if isinstance(op, KeyedOperator)]
    positions = [position for position, _ in segment]
    # workers see batches of 4 rows; the driver receives batches of 3 (Ray re-cuts blocks freely)
    encoded = pa.concat_tables(
        encode(table, run_segment(segment, light_samples(table)), keyed)
        for table in (samples_table(rows[start : start + 4]) for start in range(0, len(rows), 4))
    )
    prepared = [
        (part.select(INPUT_SCHEMA.names), decode(part, positions, keyed))
        for part in (encoded.slice(start, 3) for start in range(0, encoded.num_rows, 3))
    ]
    replayed, replay_report = cleaned(lambda keep: runner.replay(prepared, keep))

    assert replayed == local
    assert [sample.id for sample, _ in local] == ["ok", "html", "n0"]  # ok2 is English: language:zh
    assert replay_report.dropped_by_code() == local_report.dropped_by_code()
    assert local_report.dropped_by_code()["near-dedup:near_duplicate"] >= 1
    assert [op.model_dump() for op in replay_report.operators] == [op.model_dump() for op in local_report.operators]
    assert replay_report.before == local_report.before and replay_report.after == local_report.after
