"""The QC report's figures on a small version with known numbers (fake embedder, real store)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agents.schemas import Attempt, Lineage, Sample, Turn, Verdict
from agents.styles import resolve_style
from graph.datasets.qc.build import ReportOptions, build_reports
from graph.datasets.qc.html import write_report
from graph.datasets.qc.terms import top_terms, words
from graph.datasets.store import DatasetStore
from tests.fakes import FakeEmbedder


def _sample(
    index: int,
    user: str,
    reply: str,
    *,
    style: str = "gentle",
    scores: dict[str, int] | None = None,
    status: str = "accepted",
    reason: str | None = None,
    extra_turns: int = 0,
    origin: str = "generated",
) -> Sample:
    turns = [Turn(role="user", content=user), Turn(role="assistant", content=reply)]
    for n in range(extra_turns):
        turns += [Turn(role="user", content=f"还有一个问题{n}"), Turn(role="assistant", content=f"好的呀{n}")]
    attempts = []
    if scores is not None:
        verdict = Verdict(scores=scores, passed=True, prompt_name="anchored")
        attempts = [
            Attempt(kind="generate", turns=turns, check_failures=["no_marker: 没有语气词"]),
            Attempt(kind="rewrite", turns=turns, verdict=verdict),
        ]
    return Sample(
        id=f"s{index}",
        status=status,
        system="你是一位温柔的客服。",
        turns=turns,
        reject_reason=reason,  # type: ignore[arg-type]
        attempts=attempts,
        lineage=Lineage(origin=origin, style=style, topic=f"topic {index % 3}"),  # type: ignore[arg-type]
    )


ROWS = [
    _sample(1, "我的信用卡账单怎么查询", "您可以在手机银行查询信用卡账单呢", scores={"empathy": 5, "style": 4}),
    _sample(2, "信用卡积分怎么兑换礼品", "积分可以在积分商城兑换礼品呀", scores={"empathy": 3, "style": 4}),
    _sample(3, "我的信用卡账单怎么查询", "您可以在手机银行查询信用卡账单呢", scores={"empathy": 4, "style": 2}),
    _sample(4, "逾期还款会影响征信吗", "逾期还款可能影响征信记录呢", extra_turns=1),
    _sample(5, "How do I reset my card PIN?", "You can reset the PIN in the mobile banking app.", style="bank-cs"),
    _sample(6, "转账失败怎么办", "请检查收款账户信息", status="rejected", reason="judge_failed: empathy 2 < 4"),
]


@pytest.fixture
def store(tmp_path: Path) -> DatasetStore:
    store = DatasetStore(tmp_path)
    with store.new_version("bank", operation="generate") as writer:
        writer.add(ROWS)
    with store.new_version("bank", operation="clean", parents=["bank@1"]) as writer:
        writer.add(ROWS[:2] + ROWS[3:5])
    return store


def test_figures_over_every_row(store: DatasetStore) -> None:
    pack = resolve_style("gentle")
    report = build_reports(store, ["bank@1"], embedder=FakeEmbedder(), pack=pack, options=ReportOptions(seed=1))
    version = report.versions[0]
    assert version.rows == 6 and version.language == "zh"
    assert {s.name: s.count for s in version.by_style} == {"gentle": 5, "bank-cs": 1}
    assert {s.name: s.count for s in version.by_status} == {"accepted": 5, "rejected": 1}
    assert version.turns is not None and version.turns.total == 6
    assert dict(zip(version.turns.edges[:-1], version.turns.counts, strict=True))[1.5] == 5  # five 2-turn rows
    assert version.turns.median == 2
    user = version.chars["user"]
    assert user.total == 7 and user.bounds == (pack.user_bounds.min_chars, pack.user_bounds.max_chars)
    assert sum(user.counts) + user.over == 7
    empathy = next(c for c in version.scores if c.criterion == "empathy")
    assert empathy.counts == {1: 0, 2: 0, 3: 1, 4: 1, 5: 1} and empathy.threshold == pack.thresholds["empathy"]
    assert empathy.mean == pytest.approx(4.0)
    assert version.scored_rows == 3 and version.judge_prompts[0].name == "anchored"
    assert [(s.name, s.count) for s in version.reject_reasons] == [("judge_failed", 1)]
    assert [(s.name, s.count) for s in version.check_failures] == [("no_marker", 3)]
    assert version.exact_duplicate_rows == 1 and version.exact_duplicates[0].ids == ["s1", "s3"]
    assert version.repeated_prompt_rows == 1
    top_user = [t.term for t in version.terms["user"]]
    assert top_user[0] == "信用卡" and "账单" in top_user  # jieba words, not characters
    assert version.map_sampled == 6 and len(version.map_points) == 6
    assert version.near_duplicate_rows >= 1  # s1 and s3 are the same text
    assert version.diversity is not None and 0 < version.diversity.distinct_2 <= 1


def test_balance_warns_above_the_bound(store: DatasetStore) -> None:
    report = build_reports(store, ["bank@1"], options=ReportOptions(balance_bound=0.8, map_sample=0))
    style = next(b for b in report.versions[0].balance if b.dimension == "style")
    assert style.largest is not None and style.largest.share == pytest.approx(5 / 6)
    assert style.warning and "gentle" in style.warning
    relaxed = build_reports(store, ["bank@1"], options=ReportOptions(balance_bound=0.9, map_sample=0))
    assert not relaxed.versions[0].warnings


def test_a_report_without_an_embedder_says_near_duplicates_were_not_computed(
    store: DatasetStore, tmp_path: Path
) -> None:
    html_path, _ = write_report(build_reports(store, ["bank@1"], options=ReportOptions(map_sample=0)), tmp_path / "r")
    html = html_path.read_text(encoding="utf-8")
    assert "None" not in html and "Near-duplicates: not computed (no embedder)." in html


def test_against_shares_bins_and_map(store: DatasetStore, tmp_path: Path) -> None:
    report = build_reports(store, ["bank@2", "bank@1"], embedder=FakeEmbedder(), options=ReportOptions())
    first, second = report.versions
    assert (first.ref, second.ref) == ("bank@2", "bank@1")
    assert first.chars["assistant"].edges == second.chars["assistant"].edges
    assert first.turns and second.turns and first.turns.edges == second.turns.edges
    assert [c.index for c in first.clusters] == [c.index for c in second.clusters]
    html_path, json_path = write_report(report, tmp_path / "out")
    data = json.loads(json_path.read_text(encoding="utf-8"))
    assert [v["ref"] for v in data["versions"]] == ["bank@2", "bank@1"]
    html = html_path.read_text(encoding="utf-8")
    assert "http://" not in html and "https://" not in html.replace("https://www.w3.org", "")
    assert html.count("data:image/svg+xml;base64,") >= 5


def test_text_from_the_data_is_escaped(tmp_path: Path) -> None:
    store = DatasetStore(tmp_path)
    with store.new_version("x", operation="import") as writer:
        writer.add([_sample(i, f"<script>alert({i})</script> 账单", "<b>hi</b>", origin="import") for i in range(4)])
    html_path, _ = write_report(build_reports(store, ["x"], embedder=FakeEmbedder()), tmp_path / "r")
    html = html_path.read_text(encoding="utf-8")
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_words_segment_chinese_and_drop_stop_words() -> None:
    assert words("我想查询一下信用卡账单", chinese=True) == ["查询", "信用卡", "账单"]
    assert words("How do I reset the PIN of my card", chinese=False) == ["reset", "pin", "card"]
    assert top_terms(["信用卡 账单", "信用卡"], chinese=True) == [("信用卡", 2), ("账单", 1)]


def test_chinese_rows_of_a_mostly_english_set_are_segmented() -> None:
    terms = dict(top_terms(["How do I raise my credit limit?"] * 5 + ["我的信用卡被盗刷了怎么办"], chinese=False))
    assert terms["信用卡"] == 1 and "我的信用卡被盗刷了怎么办" not in terms


def test_topic_map_has_no_more_clusters_than_distinct_rows() -> None:
    import warnings

    import numpy as np

    from graph.datasets.qc.topics import topic_map

    vectors = np.repeat(np.eye(3, 8), 40, axis=0)  # 120 rows, 3 distinct points
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # scikit-learn's ConvergenceWarning would reach the user's terminal
        fitted = topic_map(vectors, ["card fee", "pin reset", "lost card"] * 40, chinese=False)
    assert len(fitted.labels) == 3 and sorted(set(fitted.clusters.tolist())) == [0, 1, 2]


def test_a_jobs_rejections_are_shown_beside_its_version(store: DatasetStore, tmp_path: Path) -> None:
    report = build_reports(
        store, ["bank@1"], options=ReportOptions(map_sample=0),
        job_rejections={"bank@1": ("job42", {"judge:empathy": 3, "near_duplicate": 1})},
    )  # fmt: skip
    version = report.versions[0]
    assert version.job_id == "job42"
    assert [(s.name, s.count) for s in version.job_rejections] == [("judge:empathy", 3), ("near_duplicate", 1)]
    assert version.job_rejections[0].share == pytest.approx(3 / 10)  # of the 6 rows + 4 rejected the job finished
    html = write_report(report, tmp_path / "job")[0].read_text(encoding="utf-8")
    assert "job <code>job42</code>, 4 rejected" in html
