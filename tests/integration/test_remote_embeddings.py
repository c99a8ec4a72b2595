"""The remote embedder against a real OpenAI-compatible HTTP server on loopback (another process)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from agents.embeddings import EmbedderUnavailableError, make_embedder
from agents.remote_embeddings import MAX_TEXTS_PER_CALL, EmbeddingEndpoint, OpenAIEmbedder
from benchmarks.loopback import fake_llm_server, free_port
from tests.fakes import FakeEmbedder
from tests.integration.cli_support import dialogforge
from tests.service.api_support import style_pack_yaml

KEY = "sk-test-remote-0123456789"


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    with fake_llm_server(0.0, embedding_latency_s=0.0, api_key=KEY) as base_url:
        yield base_url


def server_stats(base_url: str) -> dict[str, int]:
    return httpx.get(base_url.removesuffix("/v1") + "/health", trust_env=False).json()


def test_vectors_come_back_in_order_unit_length_and_split_into_calls(server_url: str) -> None:
    embedder = OpenAIEmbedder("fake", EmbeddingEndpoint(server_url, KEY))
    texts = [f"第{index}个问题：快递丢了怎么办" for index in range(MAX_TEXTS_PER_CALL + 3)]
    calls_before = server_stats(server_url)["embedding_calls"]
    vectors = embedder.embed(texts)
    assert server_stats(server_url)["embedding_calls"] - calls_before == 2  # 256 + 3
    assert vectors.shape == (len(texts), embedder.dim) and vectors.dtype == np.float32
    np.testing.assert_allclose(vectors, FakeEmbedder().embed(texts), atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert embedder.embed([]).shape == (0, embedder.dim)
    assert embedder.name == f"openai:fake@127.0.0.1:{httpx.URL(server_url).port}"


def test_a_refused_key_fails_at_start_naming_the_url_not_the_key(server_url: str) -> None:
    with pytest.raises(EmbedderUnavailableError) as error:
        OpenAIEmbedder("fake", EmbeddingEndpoint(server_url, "sk-wrong-key-999", max_retries=0))
    expected = f"cannot embed with 'fake' at {server_url}/embeddings: HTTP 401 (the API key was refused)"
    assert str(error.value) == expected
    assert "sk-wrong" not in str(error.value)


def test_an_unreachable_endpoint_is_named() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(EmbedderUnavailableError, match=f"at {url}/embeddings: APIConnectionError"):
        OpenAIEmbedder("fake", EmbeddingEndpoint(url, None, timeout_s=2, max_retries=0))


def test_make_embedder_needs_an_endpoint_and_a_model() -> None:
    with pytest.raises(EmbedderUnavailableError, match="set DIALOGFORGE_EMBEDDINGS_BASE_URL"):
        make_embedder("openai:text-embedding-3-small")
    with pytest.raises(EmbedderUnavailableError, match="needs a model name"):
        make_embedder("openai: ", EmbeddingEndpoint("http://127.0.0.1:9/v1"))


def hashed_vector_pack(path: Path) -> Path:
    """empathetic-cs without the exemplar bound: the fake server's vectors are not e5's."""
    yaml_text = style_pack_yaml("cs-remote", base="empathetic-cs", near_duplicate_similarity=0.97)
    path.write_text(yaml_text, encoding="utf-8")
    return path


def test_cli_job_embeds_through_the_endpoint(server_url: str, tmp_path: Path) -> None:
    env = {
        "DIALOGFORGE_LLM_BASE_URL": server_url,
        "DIALOGFORGE_LLM_API_KEY": KEY,
        "DIALOGFORGE_EMBEDDER": "openai:fake",
        "DIALOGFORGE_DATA_DIR": str(tmp_path / "data"),
    }
    texts_before = server_stats(server_url)["embedded_texts"]
    output = tmp_path / "cs.jsonl"
    pack = hashed_vector_pack(tmp_path / "cs-remote.yaml")
    result = dialogforge("generate", "--style", str(pack), "-n", "4", "-f", "openai", "-o", str(output), env=env)
    assert result.returncode == 0, result.stderr
    assert len(output.read_text(encoding="utf-8").splitlines()) == 4
    assert server_stats(server_url)["embedded_texts"] - texts_before >= 4  # topics and turns went to the server
    assert KEY not in result.stdout + result.stderr


def test_cli_with_a_refused_embeddings_key_is_one_line_and_starts_nothing(server_url: str, tmp_path: Path) -> None:
    env = {
        "DIALOGFORGE_LLM_BASE_URL": server_url,
        "DIALOGFORGE_LLM_API_KEY": KEY,
        "DIALOGFORGE_EMBEDDER": "openai:fake",
        "DIALOGFORGE_EMBEDDINGS_API_KEY": "sk-not-this-one-42",
        "DIALOGFORGE_LLM_MAX_RETRIES": "0",
        "DIALOGFORGE_DATA_DIR": str(tmp_path / "data"),
    }
    result = dialogforge("generate", "--style", "gentle", "-n", "2", "-o", str(tmp_path / "x.jsonl"), env=env)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: cannot embed with 'fake' at {server_url}/embeddings: HTTP 401 (the API key was refused)"
    ]
    assert "Traceback" not in result.stderr and "sk-not-this-one" not in result.stderr
    assert not (tmp_path / "x.jsonl").exists()


def test_serve_with_a_refused_embeddings_key_is_one_line(server_url: str, tmp_path: Path) -> None:
    env = {
        "DIALOGFORGE_LLM_BASE_URL": server_url,
        "DIALOGFORGE_EMBEDDER": "openai:fake",
        "DIALOGFORGE_EMBEDDINGS_API_KEY": "sk-not-this-one-42",
        "DIALOGFORGE_LLM_MAX_RETRIES": "0",
        "DIALOGFORGE_DATA_DIR": str(tmp_path / "data"),
    }
    result = dialogforge("serve", "--port", str(free_port()), env=env, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: cannot embed with 'fake' at {server_url}/embeddings: HTTP 401 (the API key was refused)"
    )
    assert "Traceback" not in result.stderr and "sk-not-this-one" not in result.stderr
