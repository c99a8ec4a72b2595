"""Who may read /docs, /redoc and /openapi.json: anyone (documented), or nobody with DIALOGFORGE_PUBLIC_DOCS=false."""

from __future__ import annotations

from pathlib import Path

from tests.service.api_support import api_client

KEY = "key-for-docs-test-123"
DOCS = ("/docs", "/redoc", "/openapi.json")


async def test_docs_are_open_with_keys_set_and_hold_no_key(tmp_path: Path) -> None:
    async with api_client(tmp_path, register_style=False, api_keys=KEY) as (client, _):
        for path in DOCS:
            answer = await client.get(path)
            assert answer.status_code == 200, path
            assert KEY not in answer.text
        assert (await client.get("/v1/jobs")).status_code == 401
        assert (await client.get("/healthz")).status_code == 200
        schema = (await client.get("/openapi.json")).json()
        assert schema["openapi"] == "3.2.0" and "HTTPBearer" in schema["components"]["securitySchemes"]


async def test_docs_can_be_switched_off(tmp_path: Path) -> None:
    async with api_client(tmp_path, register_style=False, api_keys=KEY, public_docs=False) as (client, _):
        for path in DOCS:
            assert (await client.get(path)).status_code == 404, path
        assert (await client.get("/healthz")).status_code == 200
        headers = {"Authorization": f"Bearer {KEY}"}
        assert (await client.get("/v1/styles", headers=headers)).status_code == 200
