"""``dialogforge review assign`` in a subprocess: the queues it prints, and bad input as one line."""

from __future__ import annotations

from pathlib import Path

from graph.datasets.store import DatasetStore
from graph.reviews.store import ReviewStore
from tests.integration.cli_support import dialogforge
from tests.integration.review_support import dialogue


def test_assign_prints_the_queues_and_refuses_bad_input(tmp_path: Path) -> None:
    with DatasetStore(tmp_path).new_version("bank", operation="generate") as writer:
        writer.add([dialogue(i) for i in range(30)])
    env = {"DIALOGFORGE_DATA_DIR": str(tmp_path), "COLUMNS": "200"}
    args = ["review", "assign", "bank", "--fraction", "0.5", "--reviewers", "ann,ben", "--overlap", "0.2"]
    result = dialogforge(*args, "--strata", "origin,style,band", env=env)
    assert result.returncode == 0, result.stderr
    assert "bank@1: 15 items (50% of 30" in result.stdout and "3 to two reviewers" in result.stdout
    assert "ann: 9 items" in result.stdout and "ben: 9 items" in result.stdout
    assert len(ReviewStore(tmp_path).assignments("bank@1")) == 18
    again = dialogforge(*args, env=env)
    assert again.returncode == 2 and "bank@1 already has a review round" in again.stderr, again.stderr
    assert again.stderr.startswith("error: ") and "Traceback" not in again.stderr
    for command, expected in [
        (["review", "assign", "nothing", "--reviewers", "ann"], "no data set named 'nothing'"),
        (["review", "assign", "bank", "--reviewers", "Ann!"], "invalid reviewer name 'Ann!'"),
        (["review", "status", "bank@9"], "bank has no version bank@9"),
    ]:
        bad = dialogforge(*command, env=env)
        assert bad.returncode == 2 and expected in bad.stderr, (command, bad.stderr)
        assert len(bad.stderr.strip().splitlines()) == 1
