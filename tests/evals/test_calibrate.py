"""Calibration on synthetic reviewer labels with a known best threshold; reviews as labelled sets; the CLI."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from agents.schemas import Attempt, Lineage, Sample, Turn, Verdict
from agents.styles import load_style_file, resolve_style
from evals.calibrate import LabelledVerdict, calibrate, fit_thresholds, measure
from evals.reviews import review_sets, reviewed_verdicts
from graph.datasets.store import DatasetStore
from graph.reviews.model import ReviewDecision
from graph.reviews.rounds import start_round
from graph.reviews.store import ReviewStore
from tests.integration.cli_support import dialogforge

CURRENT = {"empathy": 3, "style": 4, "correctness": 4}


def _truth(scores: dict[str, int]) -> bool:
    return scores["empathy"] >= 4 and scores["correctness"] >= 3  # style does not matter to these reviewers


def _items(count: int, noise: float = 0.0, seed: int = 0) -> list[LabelledVerdict]:
    rng = random.Random(seed)
    items = []
    for index in range(count):
        scores = {name: rng.randint(1, 5) for name in CURRENT}
        accepted = _truth(scores) != (rng.random() < noise)
        items.append(LabelledVerdict(f"s{index}", scores, accepted))
    return items


def test_the_fit_recovers_the_reviewers_rule() -> None:
    assert fit_thresholds(_items(300), CURRENT) == {"correctness": 3, "empathy": 4, "style": 1}


def test_held_out_precision_and_recall_before_and_after() -> None:
    result = calibrate(_items(400, noise=0.05, seed=3), CURRENT, holdout=0.5, seed=1)
    assert result.after == {"correctness": 3, "empathy": 4, "style": 1}
    assert result.fit_items + result.test_items == 400 and result.test_items == 200
    after, before = result.test_after, result.test_before
    # 5% of the labels flipped: about 4% of all items are rejections flipped to "accepted" (the rule
    # accepts 24%), so even the true rule's recall is about 0.86 and its precision near 1
    assert after.precision is not None and after.precision > 0.9 and after.recall is not None and after.recall > 0.75
    assert before.recall is not None and before.recall < 0.5  # the pack's style >= 4 rejects what reviewers accept
    assert after.balanced_accuracy is not None and before.balanced_accuracy is not None
    assert after.balanced_accuracy > before.balanced_accuracy + 0.1


def test_measure_on_known_counts() -> None:
    items = [LabelledVerdict("a", {"x": 5}, True), LabelledVerdict("b", {"x": 5}, False),
             LabelledVerdict("c", {"x": 1}, True), LabelledVerdict("d", {"x": 1}, False)]  # fmt: skip
    figures = measure(items, {"x": 3})
    assert (figures.precision, figures.recall, figures.accuracy, figures.passed) == (0.5, 0.5, 0.5, 2)


def test_calibration_refuses_too_few_or_one_sided_labels() -> None:
    with pytest.raises(ValueError, match="some accepted and some rejected"):
        calibrate([LabelledVerdict(str(i), {"x": 3}, True) for i in range(10)], {"x": 3})


def _reviewed(tmp_path: Path, count: int = 40) -> str:
    pack = resolve_style("bank-cs")
    rng = random.Random(7)
    samples = []
    for index in range(count):
        scores = {c.name: rng.randint(1, 5) for c in pack.rubric}
        turns = [Turn(role="user", content=f"问题{index}"), Turn(role="assistant", content=f"回答{index}")]
        verdict = Verdict(scores=scores, passed=True, prompt_name="anchored")
        attempts = [Attempt(kind="generate", turns=turns, verdict=verdict)]
        lineage = Lineage(style=pack.name)
        samples.append(
            Sample(id=f"r{index}", status="accepted", system="客服", turns=turns, lineage=lineage, attempts=attempts)
        )
    datasets, reviews = DatasetStore(tmp_path), ReviewStore(tmp_path)
    with datasets.new_version("bank", operation="generate") as writer:
        writer.add(samples)
    ref = start_round(datasets, reviews, "bank", fraction=1.0, reviewers=["ann", "ben"], overlap=0.25,
                      criteria=pack.rubric, style=pack.name, strata=("style",)).ref  # fmt: skip
    by_id = {s.id: s for s in samples}
    for assignment in reviews.assignments(ref):
        scores = by_id[assignment.sample_id].verdict.scores  # type: ignore[union-attr]
        accepted = _truth(scores)
        decision = ReviewDecision(
            ref=ref, sample_id=assignment.sample_id, reviewer=assignment.reviewer,
            decision="accept" if accepted else "reject", reason=None if accepted else "incorrect",
            scores={"empathy": scores["empathy"]},
        )  # fmt: skip
        reviews.save(decision)
    return ref


def test_reviews_become_labelled_sets_and_verdicts(tmp_path: Path) -> None:
    ref = _reviewed(tmp_path)
    store = ReviewStore(tmp_path)
    decision_set, paired = review_sets(store, ref, "decision")
    assert len(decision_set.items) == 40 and str(decision_set.scale) == "0-1"
    assert len(paired.items) == 10 and paired.annotator_columns == ["first reviewer", "second reviewer"]
    empathy = review_sets(store, ref, "empathy")[0]
    assert str(empathy.scale) == "1-5" and {item.label for item in empathy.items} <= {1.0, 2.0, 3.0, 4.0, 5.0}
    assert empathy.items[0].context.startswith("问题") and empathy.items[0].text.startswith("回答")
    items, prompts = reviewed_verdicts(store, ref)
    assert len(items) == 40 and prompts == {"anchored": 40}


def test_calibrate_command_writes_a_calibrated_copy_of_the_pack(tmp_path: Path) -> None:
    ref = _reviewed(tmp_path, count=60)
    out = tmp_path / "bank-cs-calibrated.yaml"
    result = dialogforge("eval", "calibrate", "--reviews", ref, "--write", str(out),
                         env={"DIALOGFORGE_DATA_DIR": str(tmp_path), "COLUMNS": "200"})  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "judge prompt anchored (60)" in result.stdout and "held out, after" in result.stdout
    pack = load_style_file(out)
    assert pack.name == "bank-cs-calibrated" and pack.thresholds["empathy"] == 4
    missing = dialogforge("eval", "calibrate", "--reviews", "bank@9", env={"DIALOGFORGE_DATA_DIR": str(tmp_path)})
    assert missing.returncode == 2 and "bank has no version" in missing.stderr and "Traceback" not in missing.stderr


def test_eval_judges_reads_reviewer_labels(tmp_path: Path) -> None:
    import contextlib
    import json

    from typer.testing import CliRunner

    from evals.cli import make_eval_app
    from evals.runtime import FixedRuntime
    from tests.fakes import ScriptedChatModel, template_responder

    ref = _reviewed(tmp_path, count=20)

    @contextlib.contextmanager
    def provider(names: list[str]):  # type: ignore[no-untyped-def]
        yield {"fake": ScriptedChatModel(responder=template_responder)}

    out = tmp_path / "eval-out"
    args = ["judges", "--reviews", ref, "--label", "empathy", "--prompts", "anchored", "--no-baseline",
            "--bootstrap", "0", "--out", str(out), "--data-dir", str(tmp_path)]  # fmt: skip
    result = CliRunner().invoke(make_eval_app(FixedRuntime(provider)), args)
    assert result.exit_code == 0, result.output
    rows = json.loads((out / "leaderboard.json").read_text(encoding="utf-8"))
    rows = rows["rows"] if isinstance(rows, dict) else rows
    names = {(row["dataset"], row["judge"]) for row in rows}
    assert ("bank@1 reviews (empathy)", "anchored @ fake") in names
    assert ("bank@1 paired (empathy)", "human ceiling") in names  # reviewer against reviewer
    wrong = ["judges", "--reviews", "bank@1", "--label", "tone", "--data-dir", str(tmp_path), "--prompts", "none"]
    missing = CliRunner().invoke(make_eval_app(FixedRuntime(provider)), wrong)
    assert missing.exit_code == 2 and "choose one of them or" in " ".join(missing.output.split())  # rich wraps
