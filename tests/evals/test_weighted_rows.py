"""Weighted rows from the same calls, score-use notes, per-criterion chart titles, old caches."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from pathlib import Path

import numpy as np

from evals.cache import CacheKey, JudgementCache
from evals.datasets import LabelledItem, LabelledSet, Scale
from evals.judges import Judgement
from evals.pipeline import score_variants
from evals.report import markdown_table, notes, write_report
from evals.scoring import human_ceiling, score_pointwise

ITEMS = [LabelledItem(i, f"reply {'x' * i}", "", float(i % 3), (float(i % 3),) * 3) for i in range(12)]
SET = LabelledSet("a-rather-long-data-set-name-that-would-not-fit-the-panel", Scale(0, 2), ITEMS, ["a", "b", "c"])


def judgements(weighted: bool) -> dict[str, Judgement]:
    return {
        item.key: Judgement(score=4.0, weighted=1.0 + 2.0 * item.label + 0.1 if weighted else None) for item in ITEMS
    }


def test_weighted_scores_get_their_own_row_from_the_same_calls(tmp_path: Path) -> None:
    variants = score_variants("anchored @ m", judgements(True))
    assert list(variants) == ["anchored @ m", "anchored+weighted @ m"]
    assert list(score_variants("anchored @ m", judgements(False))) == ["anchored @ m"]
    rows = [score_pointwise(SET, name, found, bootstrap=50) for name, found in variants.items()]
    rows.append(human_ceiling(SET))  # type: ignore[arg-type]
    constant, weighted = rows[0], rows[1]
    assert np.isnan(constant.metrics["spearman"].value) and constant.score_use["4"] == 12
    assert weighted.metrics["spearman"].value > 0.9
    text = "\n".join(notes(rows))
    assert "| anchored @ m | 4:12 |" in text  # why its Spearman is missing: one level used
    table = markdown_table(rows)
    assert "anchored+weighted @ m" in table
    paths = write_report(rows, tmp_path, {"criterion": "coherence"})
    assert "Score use" in paths["md"].read_text() and paths["png"].stat().st_size > 1000


def test_an_old_cache_without_weighted_scores_is_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TABLE judgements (version TEXT NOT NULL, model TEXT NOT NULL, item TEXT NOT NULL, criterion TEXT "
        "NOT NULL, judge TEXT NOT NULL, score REAL, error TEXT, raw TEXT NOT NULL, input_tokens INTEGER NOT NULL, "
        "output_tokens INTEGER NOT NULL, seconds REAL NOT NULL, created_at TEXT NOT NULL DEFAULT (datetime('now')), "
        "PRIMARY KEY (version, model, item, criterion))"
    )
    db.execute("INSERT INTO judgements VALUES ('v','m','i','empathy','j',4,NULL,'r',1,2,0.5,'now')")
    db.commit()
    db.close()
    with JudgementCache(path) as cache:
        assert cache.get(CacheKey("v", "m", "i", "empathy")) == Judgement(4.0, None, "r", 1, 2, 0.5, None)
        cache.put(CacheKey("v", "m", "j", "empathy"), "j", replace(Judgement(3.0), weighted=3.4))
        assert cache.get(CacheKey("v", "m", "j", "empathy")).weighted == 3.4  # type: ignore[union-attr]
