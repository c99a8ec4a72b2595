"""``dialogforge generate --style FILE``: a hostile pack file is one line and exit 2 (real subprocess, no model)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.cli_support import dialogforge
from tests.service.api_support import style_pack_yaml


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: deep\ntopics: " + "[" * 50_000, "nesting too deep"),
        (style_pack_yaml("blank", markers=["  "]), "markers.0: Value error, must not be empty or only whitespace"),
    ],
    ids=["50000-lists", "blank-marker"],
)
def test_a_hostile_pack_file_is_one_line_and_exit_2(tmp_path: Path, text: str, expected: str) -> None:
    pack = tmp_path / "pack.yaml"
    pack.write_text(text, encoding="utf-8")
    env = {"DIALOGFORGE_DATA_DIR": str(tmp_path / "data"), "DIALOGFORGE_LLM_BASE_URL": "http://127.0.0.1:9/v1"}
    result = dialogforge("generate", "--style", str(pack), "-n", "1", "-o", str(tmp_path / "out.jsonl"), env=env)
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr[-2000:]
    assert lines[0].startswith("error: ") and expected in lines[0], lines[0]
    assert "Traceback" not in result.stderr and not (tmp_path / "out.jsonl").exists()
