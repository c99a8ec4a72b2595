"""The call cache through the real stack: the CLI in subprocesses against the fake provider, SQLite on disk."""

from __future__ import annotations

from pathlib import Path

import httpx

from benchmarks.loopback import fake_llm_server
from tests.integration.cli_support import dialogforge


def served_calls(base_url: str) -> int:
    return int(httpx.get(base_url.removesuffix("/v1") + "/health", timeout=5, trust_env=False).json()["calls"])


def test_a_rerun_with_the_same_seed_in_a_fresh_workspace_makes_no_call(tmp_path: Path) -> None:
    with fake_llm_server(0.05) as base_url:
        env = {"DIALOGFORGE_LLM_BASE_URL": base_url, "DIALOGFORGE_DATA_DIR": str(tmp_path / "data")}
        for role in ("GENERATOR", "JUDGE", "REWRITER"):
            env[f"DIALOGFORGE_{role}_MODEL"] = "gpt-4o-mini"  # priced: the summary shows what the job cost

        def generate(workspace: str, output: str, *extra: str):  # type: ignore[no-untyped-def]
            return dialogforge(
                "generate", "--style", "empathetic-cs", "-n", "4", "--concurrency", "1", "--seed", "7",
                "--workspace", workspace, "-f", "openai", "-o", str(tmp_path / output), *extra, env=env,
            )  # fmt: skip

        first = generate("one", "first.jsonl")
        assert first.returncode == 0, first.stderr
        assert "cache on" in first.stderr.splitlines()[0]
        paid = served_calls(base_url)
        assert "cost $0.0" in first.stdout and "per accepted" in first.stdout
        second = generate("two", "second.jsonl")
        assert second.returncode == 0, second.stderr
        assert served_calls(base_url) == paid  # exactly 0 new calls
        assert "LLM calls 0" in second.stdout and "served from the call cache" in second.stdout
        assert "cost $0.0000 ($0.00000 per accepted" in second.stdout  # a rerun costs nothing
        assert (tmp_path / "second.jsonl").read_text() == (tmp_path / "first.jsonl").read_text()

        uncached = generate("three", "third.jsonl", "--no-cache")
        assert uncached.returncode == 0, uncached.stderr
        assert "cache off" in uncached.stderr.splitlines()[0]
        assert served_calls(base_url) > paid

        stats = dialogforge("cache", "stats", env=env)
        assert stats.returncode == 0 and "chat:" in stats.stdout and "embedding:" in stats.stdout
        bad = dialogforge("cache", "clear", "--older-than", "soon", env=env)
        assert bad.returncode == 2 and bad.stderr.startswith("error: ") and "30d" in bad.stderr
        cleared = dialogforge("cache", "clear", env=env)
        assert cleared.returncode == 0 and "removed 0 entries" not in cleared.stdout
        assert "empty" in dialogforge("cache", "stats", env=env).stdout
