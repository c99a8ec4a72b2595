"""The eval command's runtime comes from the same settings as every other command."""

from __future__ import annotations

import pytest

from evals.runtime import EndpointChoice
from service.cli.eval_runtime import SettingsRuntime
from service.settings import Settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("DIALOGFORGE_"):
            monkeypatch.delenv(name)


def test_judge_models_use_the_judge_role_endpoint_key_and_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIALOGFORGE_LLM_BASE_URL", "https://llm.example/v1")
    monkeypatch.setenv("DIALOGFORGE_LLM_API_KEY", "sk-judge")
    monkeypatch.setenv("DIALOGFORGE_JUDGE_MODEL", "judge-large")
    runtime = SettingsRuntime(Settings(_env_file=None))  # type: ignore[call-arg]
    with runtime.judge_models(EndpointChoice())([]) as models:
        ((name, model),) = models.items()
        assert name == "judge-large"
        assert model.openai_api_base == "https://llm.example/v1"  # type: ignore[attr-defined]
        assert model.openai_api_key.get_secret_value() == "sk-judge"  # type: ignore[attr-defined]
    with runtime.judge_models(EndpointChoice())(["a", "b"]) as models:
        assert sorted(models) == ["a", "b"]


def test_another_base_url_never_receives_the_configured_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIALOGFORGE_LLM_BASE_URL", "https://llm.example/v1")
    monkeypatch.setenv("DIALOGFORGE_LLM_API_KEY", "sk-judge")
    runtime = SettingsRuntime(Settings(_env_file=None))  # type: ignore[call-arg]
    with runtime.judge_models(EndpointChoice(base_url="http://127.0.0.1:9/v1"))(["m"]) as models:
        assert models["m"].openai_api_key.get_secret_value() != "sk-judge"  # type: ignore[attr-defined]
    choice = EndpointChoice(base_url="http://127.0.0.1:9/v1", api_key="sk-other")
    with runtime.judge_models(choice)(["m"]) as models:
        assert models["m"].openai_api_key.get_secret_value() == "sk-other"  # type: ignore[attr-defined]


def test_an_openai_baseline_embeds_where_every_command_does(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DIALOGFORGE_LLM_BASE_URL", "https://llm.example/v1")
    monkeypatch.setenv("DIALOGFORGE_LLM_API_KEY", "sk-judge")
    endpoint = Settings(_env_file=None).embedding_endpoint()  # type: ignore[call-arg]
    assert (endpoint.base_url, endpoint.api_key) == ("https://llm.example/v1", "sk-judge")
    monkeypatch.setenv("DIALOGFORGE_EMBEDDINGS_BASE_URL", "http://127.0.0.1:8080/v1")
    separate = Settings(_env_file=None).embedding_endpoint()  # type: ignore[call-arg]
    assert (separate.base_url, separate.api_key) == ("http://127.0.0.1:8080/v1", None)
