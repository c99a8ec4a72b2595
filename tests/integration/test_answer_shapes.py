"""Answers that cannot be malformed, through the real stack: the CLI in a subprocess against an
OpenAI-compatible server that fills every schema mechanically (arbitrary instances, no sense).

With list-of-items schemas such a server scored one criterion several times ("judge did not score")
and wrote drafts that ended with a user turn; with the object-per-criterion and exchanges schemas
no answer can fail on its shape, so the job summary counts no parse or structure failure.
"""

import json
from pathlib import Path

from benchmarks.loopback import fake_llm_server
from tests.integration.cli_support import dialogforge

PACK = """
name: lax
description: a pack whose rule checks let mechanical drafts reach the judge
language: zh
system_prompt: 你是一个助手。
examples: [{user: 你好, assistant: 你好呀}]
reply_bounds: {min_chars: 1, max_chars: 400}
user_bounds: {min_chars: 1, max_chars: 400}
near_duplicate_similarity: 1.0
rubric:
  - {name: coherence, description: 连贯, threshold: 1}
  - {name: empathy, description: 共情, threshold: 1}
  - {name: style, description: 风格, threshold: 1}
topics: [下雨天, 加班, 考试, 搬家, 生日, 失眠]
"""

# The filler's strings are random mixes of scripts, so the language check rejects many drafts before
# the judge sees them: enough attempts that at least one reaches the judge (8 was flaky: none did).
MAX_ATTEMPTS = 64


def test_a_mechanical_schema_filler_produces_no_malformed_answer(tmp_path: Path) -> None:
    pack = tmp_path / "lax.yaml"
    pack.write_text(PACK, encoding="utf-8")
    with fake_llm_server(0.01, mechanical=True) as base_url:
        env = {"DIALOGFORGE_LLM_BASE_URL": base_url, "DIALOGFORGE_DATA_DIR": str(tmp_path / "data")}
        result = dialogforge(
            "generate", "--style", str(pack), "-n", "4", "-f", "raw", "-o", str(tmp_path / "out.jsonl"),
            "--report", str(tmp_path / "report"), "--max-attempts", str(MAX_ATTEMPTS), env=env,
        )  # fmt: skip
    assert result.returncode in (0, 3), result.stderr
    summary = json.loads((tmp_path / "report" / "report.json").read_text(encoding="utf-8"))["summary"]
    assert summary["answer_failures"] == {}, summary["answer_failures"]
    assert summary["judge"]["judged"] >= 1 and summary["judge"]["unreadable"] == 0
    assert "answer shape failures: draft_parse 0, structure 0, judge_parse 0" in result.stdout
    report = (tmp_path / "report" / "report.md").read_text(encoding="utf-8")
    assert "## Judge" in report and "| coherence |" in report
