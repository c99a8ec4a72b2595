"""``dialogforge generate --turns N`` (and ``turns`` in a pack) in a subprocess against the fake OpenAI server:
every sample has N exchanges, the judge scores ``coherence`` across them even when the pack's rubric has no such
criterion, and a bad ``--turns`` is one line and exit 2. (The exporters' multi-turn rules, LLaMA-Factory's and
TRL's, are tested with 3-exchange samples in tests/graph/datasets/test_export_compat.py.)"""

from __future__ import annotations

import json
from pathlib import Path

from agents.styles import builtin_styles
from benchmarks.loopback import fake_llm_server
from tests.integration.cli_support import dialogforge


def exchanges_and_criteria(output: Path) -> tuple[set[int], set[str]]:
    rows = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    assert rows, "nothing was exported"
    criteria = {name for row in rows for name in row["attempts"][-1]["verdict"]["scores"]}
    return {len(row["turns"]) // 2 for row in rows}, criteria


def test_generate_turns_makes_multi_turn_samples_judged_for_coherence(tmp_path: Path) -> None:
    gentle = builtin_styles()["gentle"]
    rubric = [criterion for criterion in gentle.rubric if criterion.name != "coherence"]
    changes = {"name": "gentle-three", "aliases": [], "rubric": rubric, "turns": 3, "min_exemplar_similarity": None}
    pack = gentle.model_copy(update=changes)  # the fake embedder is not semantic: no exemplar band
    pack_file = tmp_path / "gentle-three.yaml"
    pack_file.write_text(json.dumps(pack.model_dump(mode="json"), ensure_ascii=False), encoding="utf-8")
    env = {"DIALOGFORGE_DATA_DIR": str(tmp_path / "data"), "DIALOGFORGE_EMBEDDER": "openai:fake"}

    bad = dialogforge("generate", "--style", "gentle", "--turns", "7", "-o", str(tmp_path / "x.jsonl"), env=env)
    assert bad.returncode == 2 and bad.stderr.startswith("error: --turns"), bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1

    with fake_llm_server(0.01) as base_url:
        env["DIALOGFORGE_LLM_BASE_URL"] = base_url
        for args, output, turns in [
            (["--style", str(pack_file), "--turns", "2"], tmp_path / "two.jsonl", 2),  # --turns overrides the pack
            (["--style", str(pack_file)], tmp_path / "three.jsonl", 3),  # the pack's turns
        ]:
            result = dialogforge("generate", *args, "-n", "2", "-f", "raw", "-o", str(output), env=env)
            assert result.returncode == 0, result.stdout + result.stderr[-2000:]
            counts, criteria = exchanges_and_criteria(output)
            assert counts == {turns} and "coherence" in criteria, (counts, criteria)
