"""``dialogforge datasets`` in a subprocess, as a user's shell runs it: import, list, show, export."""

from __future__ import annotations

import json
from pathlib import Path

from tests.graph.datasets.helpers import sharegpt, write_jsonl
from tests.integration.cli_support import dialogforge


def test_import_list_show_export_and_reimport_round_trip(tmp_path: Path) -> None:
    env = {"DIALOGFORGE_DATA_DIR": str(tmp_path / "data")}
    source = write_jsonl(tmp_path / "camel.jsonl", [sharegpt("你好", "你好呀", system="温柔"), sharegpt("q2", "a2")])
    imported = dialogforge("datasets", "import", str(source), "--name", "roleplay", "--tag", "v1.0", env=env)
    assert imported.returncode == 0, imported.stderr
    assert (
        "detected:" in imported.stdout and "sharegpt" in imported.stdout and "roleplay@1: 2 samples" in imported.stdout
    )

    listed = dialogforge("datasets", "list", env=env)
    assert listed.returncode == 0 and "roleplay@1" in listed.stdout

    shown = dialogforge("datasets", "show", "roleplay@v1.0", "--sample", "1", env=env)
    assert shown.returncode == 0, shown.stderr
    assert "rows 2" in shown.stdout and "camel.jsonl" in shown.stdout and "assistant:" in shown.stdout

    out = tmp_path / "out.jsonl"
    exported = dialogforge("datasets", "export", "roleplay@1", "-f", "alpaca", "-o", str(out), env=env)
    assert exported.returncode == 0 and "wrote 2 samples of roleplay@1 (alpaca)" in exported.stdout, exported.stderr
    again = dialogforge("datasets", "import", str(out), "--name", "back", env=env)
    assert again.returncode == 0 and "alpaca" in again.stdout, again.stderr
    for name in ("roleplay", "back"):
        raw = tmp_path / f"{name}.raw.jsonl"
        assert dialogforge("datasets", "export", name, "-f", "raw", "-o", str(raw), env=env).returncode == 0
    rows = [
        [json.loads(line) for line in (tmp_path / f"{n}.raw.jsonl").read_text("utf-8").splitlines()]
        for n in ("roleplay", "back")
    ]
    assert [(r["id"], r["system"], r["turns"]) for r in rows[0]] == [
        (r["id"], r["system"], r["turns"]) for r in rows[1]
    ]


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    env = {"DIALOGFORGE_DATA_DIR": str(tmp_path / "data")}
    bad = write_jsonl(tmp_path / "bad.jsonl", [sharegpt("q", "a"), {"conversations": [{"from": "gpt", "value": "x"}]}])
    for args, expected in [
        (("import", str(bad), "--name", "x"), "bad.jsonl: row 2, field conversations[0].from"),
        (("import", str(bad), "--name", "../up"), "invalid data set name '../up'"),
        (("export", "nothing@2", "-f", "alpaca"), "no data set named 'nothing'"),
    ]:
        result = dialogforge("datasets", *args, env=env)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert result.stderr.startswith("error: ") and expected in result.stderr and "Traceback" not in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "data" / "datasets" / "x").exists()
    skipped = dialogforge("datasets", "import", str(bad), "--name", "x", "--on-error", "skip", env=env)
    assert skipped.returncode == 0 and "1 rows rejected (see rejects.jsonl)" in skipped.stdout
