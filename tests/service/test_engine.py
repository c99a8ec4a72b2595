"""The engine applies the settings to every job's loop: here, the generator's avoid list."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from agents.styles import resolve_style
from graph.state import LoopConfig
from service.engine import EMBEDDED_AVOID_NEIGHBORS, Engine
from service.settings import Settings
from tests.fakes import FakeEmbedder, fake_role_models


@pytest.fixture(autouse=True)
def no_settings_from_outside(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only what a test passes counts: no DIALOGFORGE_* variable of the machine running the tests."""
    for name in [name for name in os.environ if name.startswith("DIALOGFORGE_")]:
        monkeypatch.delenv(name)


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[arg-type,call-arg]


def engine_with(tmp_path: Path, embedder: FakeEmbedder | None = None, **values: object) -> Engine:
    return Engine.start(
        settings(data_dir=tmp_path, **values), models=fake_role_models(), embedder=embedder or FakeEmbedder()
    )


def test_an_endpoint_shows_the_generator_five_covered_turns(tmp_path: Path) -> None:
    engine = engine_with(tmp_path)
    deps = engine.loop_deps(resolve_style("gentle"), "ws", config=LoopConfig(max_rewrites=1))
    assert deps.config.avoid_neighbors == LoopConfig().avoid_neighbors == 5
    assert deps.config.max_rewrites == 1


def test_the_embedded_model_is_shown_none(tmp_path: Path) -> None:
    engine = replace(engine_with(tmp_path), server=object())  # type: ignore[arg-type]
    assert engine.is_embedded
    assert engine.loop_deps(resolve_style("gentle"), "ws").config.avoid_neighbors == EMBEDDED_AVOID_NEIGHBORS == 0


@pytest.mark.parametrize("value", [0, 3])
def test_the_setting_wins(tmp_path: Path, value: int) -> None:
    embedded = replace(engine_with(tmp_path, avoid_neighbors=value), server=object())  # type: ignore[arg-type]
    assert embedded.loop_deps(resolve_style("gentle"), "ws").config.avoid_neighbors == value


def test_remote_embeddings_default_to_the_llm_endpoint_and_key() -> None:
    endpoint = settings(llm_base_url="https://llm.example/v1", llm_api_key="sk-llm").embedding_endpoint()
    assert (endpoint.base_url, endpoint.api_key) == ("https://llm.example/v1", "sk-llm")
    assert "sk-llm" not in repr(endpoint)


def test_a_separate_embeddings_endpoint_never_gets_the_llm_key() -> None:
    endpoint = settings(
        llm_base_url="https://llm.example/v1", llm_api_key="sk-llm", embeddings_base_url="http://127.0.0.1:8080/v1"
    ).embedding_endpoint()
    assert (endpoint.base_url, endpoint.api_key) == ("http://127.0.0.1:8080/v1", None)


def test_replies_are_prefetched_only_for_an_embedder_with_parallel_calls(tmp_path: Path) -> None:
    class Remote(FakeEmbedder):
        parallel_calls = 4

    local = engine_with(tmp_path / "local")
    remote = engine_with(tmp_path / "remote", embedder=Remote())
    assert not local.loop_deps(resolve_style("gentle"), "ws").config.prefetch_reply_embeddings
    assert remote.loop_deps(resolve_style("gentle"), "ws").config.prefetch_reply_embeddings
