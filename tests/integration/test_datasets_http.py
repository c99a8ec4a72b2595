"""``/v1/datasets`` over real HTTP: uvicorn on loopback, a streamed multipart upload, a streamed export."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from service.http.app import create_app
from tests.fakes import FakeEmbedder, fake_role_models
from tests.graph.datasets.helpers import sharegpt
from tests.integration.chat_stack import serving
from tests.service.api_support import make_settings

BOUNDARY = "dialogforge-test-boundary"


@pytest.fixture
async def base_url(tmp_path: Path) -> AsyncIterator[str]:
    settings = make_settings(tmp_path, max_upload_bytes=64 * 1024, api_keys="k1")
    async with serving(create_app(settings, models=fake_role_models(), embedder=FakeEmbedder())) as url:
        yield url


def _multipart(name: str, filename: str, content: bytes) -> bytes:
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="name"\r\n\r\n{name}\r\n'
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    return head + content + f"\r\n--{BOUNDARY}--\r\n".encode()


async def _chunks(body: bytes, size: int = 8192) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


async def test_streamed_upload_export_and_the_upload_bound(base_url: str) -> None:
    headers = {"Authorization": "Bearer k1", "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
    rows = "".join(json.dumps(sharegpt(f"问题{i}", f"回答{i}"), ensure_ascii=False) + "\n" for i in range(50)).encode()
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        denied = await client.get("/v1/datasets")
        assert denied.status_code == 401
        # No Content-Length: the body streams in chunks, as a large browser or curl upload does.
        created = await client.post(
            "/v1/datasets", content=_chunks(_multipart("faq", "faq.jsonl", rows)), headers=headers
        )
        assert created.status_code == 201, created.text
        assert created.json()["version"]["rows"] == 50

        async with client.stream(
            "GET", "/v1/datasets/faq/versions/latest/export?format=alpaca", headers={"Authorization": "Bearer k1"}
        ) as exported:
            assert exported.status_code == 200
            lines = [json.loads(line) async for line in exported.aiter_lines() if line]
        assert [line["instruction"] for line in lines[:2]] == ["问题0", "问题1"] and len(lines) == 50

        too_big = _multipart("faq", "big.jsonl", rows * 40)  # ~150 KB > the 64 KB bound
        refused = await client.post("/v1/datasets", content=_chunks(too_big), headers=headers)
        assert refused.status_code == 413 and refused.json()["error"] == "request_too_large"
        versions = (await client.get("/v1/datasets/faq", headers={"Authorization": "Bearer k1"})).json()["versions"]
        assert [v["version"] for v in versions] == [1]
