"""The eval command's settings: where an ``openai:`` baseline embedder is served."""

import pytest

from evals.cli import embedding_endpoint


def test_an_openai_baseline_embeds_at_the_embeddings_endpoint_else_the_judges(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DIALOGFORGE_EMBEDDINGS_BASE_URL", raising=False)
    monkeypatch.delenv("DIALOGFORGE_EMBEDDINGS_API_KEY", raising=False)
    judge_only = embedding_endpoint("https://llm.example/v1", "sk-judge")
    assert (judge_only.base_url, judge_only.api_key) == ("https://llm.example/v1", "sk-judge")
    monkeypatch.setenv("DIALOGFORGE_EMBEDDINGS_BASE_URL", "http://127.0.0.1:8080/v1")
    separate = embedding_endpoint("https://llm.example/v1", "sk-judge")
    assert (separate.base_url, separate.api_key) == ("http://127.0.0.1:8080/v1", None)
