"""``dialogforge clean`` in a subprocess, as a user's shell runs it, over a real store in a tmp data dir."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks.loopback import fake_llm_server
from benchmarks.process_tree import descendants
from graph.datasets.store import DatasetStore
from tests.graph.datasets.helpers import sharegpt, write_jsonl
from tests.integration.cli_support import dialogforge
from tests.service.api_support import style_pack_yaml

DIRTY = [
    sharegpt("你好，积分怎么兑换？", "在App的积分商城里兑换就可以啦(^_−)☆"),
    sharegpt("<p>卡丢了&amp;怎么办</p>", "请先挂失，电话13812345678\n\n发自我的iPhone"),
    sharegpt("你好，积分怎么兑换？", "在App的积分商城里兑换就可以啦(^_−)☆！"),  # a repeat after folding
    sharegpt("他住在哪里", "我无法回答这个问题，因为它涉及到个人隐私。"),
    sharegpt("在吗", "您好，在的！"),
    sharegpt("How do I raise my card limit?", "As an AI language model, I cannot help with that."),
    sharegpt("My card was charged twice", "Sorry about that! Open the app, tap the charge and choose Dispute. 😊"),
]


def exported(tmp_path: Path, env: dict[str, str], ref: str) -> list[dict[str, Any]]:
    out = tmp_path / f"{ref.replace('@', '-')}.jsonl"
    result = dialogforge("datasets", "export", ref, "-f", "raw", "-o", str(out), env=env)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def imported(tmp_path: Path, rows: list[dict[str, Any]], name: str = "logs") -> dict[str, str]:
    env = {"DIALOGFORGE_DATA_DIR": str(tmp_path / "data")}
    result = dialogforge("datasets", "import", str(write_jsonl(tmp_path / "in.jsonl", rows)), "--name", name, env=env)
    assert result.returncode == 0, result.stderr
    return env


def test_the_default_chain_writes_a_new_version_with_lineage_and_a_report(tmp_path: Path) -> None:
    env = imported(tmp_path, DIRTY)
    report = tmp_path / "report"
    result = dialogforge("clean", "logs@1", "--into", "logs", "--report", str(report), env=env)
    assert result.returncode == 0, result.stderr
    assert "logs@2: kept 3 of 7 rows of logs@1" in result.stdout
    assert "refusals:refusal 2" in result.stdout and "exact-dedup:exact_duplicate 1" in result.stdout

    rows = exported(tmp_path, env, "logs@2")
    replies = [row["turns"][1]["content"] for row in rows]
    assert replies[0] == "在App的积分商城里兑换就可以啦(^_−)☆" and replies[2].endswith("😊")  # styles survive
    assert rows[1]["turns"][0]["content"] == "卡丢了&怎么办" and replies[1] == "请先挂失，电话[PHONE]"
    source = exported(tmp_path, env, "logs@1")
    assert len(source) == 7 and source[1]["turns"][1]["content"].startswith("请先挂失，电话13812345678")
    lineage = rows[1]["lineage"]
    assert lineage["origin"] == "cleaned" and lineage["parent_version"] == "logs@1"
    assert lineage["parent_id"] == rows[1]["id"] == source[1]["id"]
    assert lineage["params"] == {"changed_by": ["strip-html", "pii"]} and lineage["source_row"] == 2

    store = DatasetStore(tmp_path / "data")
    manifest = store.resolve("logs@2")
    assert manifest.operation == "clean" and manifest.parents == ["logs@1"]
    assert [op["name"] for op in manifest.params["chain"]][:3] == ["normalize", "strip-html", "pii"]
    assert manifest.dropped == {
        "chit-chat:chit_chat": 1,
        "exact-dedup:exact_duplicate": 1,
        "refusals:refusal": 2,
    }
    drops = [json.loads(line) for line in (report / "dropped.jsonl").read_text().splitlines()]
    assert {
        "id": source[2]["id"],
        "operator": "exact-dedup",
        "code": "exact_duplicate",
        "duplicate_of": source[0]["id"],
    } in drops
    text = (report / "report.md").read_text(encoding="utf-8") + (report / "report.json").read_text(encoding="utf-8")
    assert "13812345678" not in text and "[PHONE]" in text and "exact_duplicate" in text

    again = dialogforge("clean", "logs@1", "--into", "logs", env=env)
    assert again.returncode == 0 and "logs@2 already holds this cleaning of logs@1" in again.stdout
    assert [m.version for m in store.versions("logs")] == [1, 2]


def test_bad_requests_are_one_line_exit_2_and_write_nothing(tmp_path: Path) -> None:
    env = imported(tmp_path, DIRTY[:2])
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("ops:\n  - normalize\n  - near-dedup: {treshold: 0.8}\n", encoding="utf-8")
    for args, expected in [
        (("logs@1", "--into", "logs", "--ops", "normalize,dedup"), "unknown operator 'dedup'; operators: normalize"),
        (("logs@1", "--into", "logs", "--recipe", str(recipe)), "ops.1.near-dedup.treshold: Extra inputs"),
        (("logs@1", "--into", "logs", "--ops", "refusals:rewrite"), "ops.0.refusals calls a model in a style"),
        (("logs@1", "--into", "logs", "--style", "gentle"), "a style is only used by refusals:rewrite and judge"),
        (("logs@9", "--into", "logs"), "logs has no version logs@9; versions: 1"),
        (("logs@1", "--into", "../up"), "invalid data set name '../up'"),
        (("logs@1",), "give the version to clean and --into NAME"),
        (("logs@1", "--into", "logs", "--ops", "pii", "--recipe", str(recipe)), "either --ops or --recipe"),
    ]:
        result = dialogforge("clean", *args, env=env)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert result.stderr.startswith("error: ") and expected in result.stderr, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert [m.version for m in DatasetStore(tmp_path / "data").versions("logs")] == [1]


def test_list_ops_names_every_operator_with_its_parameters(tmp_path: Path) -> None:
    result = dialogforge("clean", "--list-ops", env={"DIALOGFORGE_DATA_DIR": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    for expected in ("normalize", "near-dedup", "threshold: float = 0.7", "refusals (name:value sets mode)", "judge"):
        assert expected in result.stdout
    assert "default = normalize,strip-html,pii" in result.stdout


def test_a_killed_run_leaves_no_half_version_and_a_rerun_starts_clean(tmp_path: Path) -> None:
    rows = [
        sharegpt(f"第{i}个问题：积分怎么兑换{i % 97}次", f"您好，第{i}次兑换请在App里操作{i * 7}。")
        for i in range(40_000)
    ]
    env = imported(tmp_path, rows)
    command = [sys.executable, "-c", "from service.cli.main import main; main()", "clean", "logs@1", "--into", "logs"]
    process = subprocess.Popen(command, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    folder = tmp_path / "data" / "datasets" / "logs"
    deadline = time.monotonic() + 120
    workers: list[int] = []
    while not list(folder.glob(".tmp-*/dropped.jsonl")) or len(workers) < 4:  # writing, and the pool is up
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.05)
        workers = descendants(process.pid)  # resource tracker, fork server, 2 workers
    time.sleep(0.5)
    assert process.poll() is None, "the run ended before it could be killed"
    workers = descendants(process.pid)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    deadline = time.monotonic() + 30
    while any(Path(f"/proc/{pid}").exists() for pid in workers):  # the workers follow their parent
        assert time.monotonic() < deadline, f"worker processes {workers} outlived the killed run"
        time.sleep(0.1)
    store = DatasetStore(tmp_path / "data")
    assert [m.version for m in store.versions("logs")] == [1]  # the half-written one is not a version

    rerun = dialogforge("clean", "logs@1", "--into", "logs", env=env)
    assert rerun.returncode == 0, rerun.stderr
    assert [m.version for m in store.versions("logs")] == [1, 2] and store.resolve("logs@2").rows > 39_000
    assert not list(folder.glob(".tmp-*"))  # swept by the rerun


def test_refusals_rewrite_and_judge_run_through_a_real_model_endpoint(tmp_path: Path) -> None:
    pack = tmp_path / "soft.yaml"
    pack.write_text(style_pack_yaml("soft", base="gentle", near_duplicate_similarity=0.97), encoding="utf-8")
    rows = [sharegpt("他住在哪里？", "我无法回答这个问题，因为它涉及到个人隐私。"), DIRTY[0]]
    with fake_llm_server(0.0, embedding_latency_s=0.0) as url:
        env = {**imported(tmp_path, rows), "DIALOGFORGE_LLM_BASE_URL": url, "DIALOGFORGE_EMBEDDER": "openai:fake"}
        args = ["logs@1", "--into", "logs", "--ops", "refusals:rewrite,judge", "--style", str(pack), "--workers", "0"]
        result = dialogforge("clean", *args, env=env)
    assert result.returncode == 0, result.stderr
    assert "logs@2: kept 2 of 2 rows" in result.stdout and "changed: refusals 1, judge 2" in result.stdout
    rewritten, kept = exported(tmp_path, env, "logs@2")
    assert "无法回答" not in rewritten["turns"][1]["content"]
    assert rewritten["attempts"][0]["kind"] == "source"
    assert rewritten["attempts"][0]["turns"][1]["content"] == "我无法回答这个问题，因为它涉及到个人隐私。"
    assert rewritten["lineage"]["params"] == {"changed_by": ["refusals", "judge"]}
    for row in (rewritten, kept):
        judged = row["attempts"][-1]
        assert judged["kind"] == "judge" and judged["verdict"]["scores"]["empathy"] == 5
    assert kept["turns"] == exported(tmp_path, env, "logs@1")[1]["turns"]
