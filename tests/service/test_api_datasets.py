"""``/v1/datasets`` through the real app (lifespan, routers, error handlers, middleware) over ASGI."""

from __future__ import annotations

import json
from pathlib import Path

from tests.graph.datasets.helpers import sharegpt
from tests.service.api_support import api_client

ROWS = [sharegpt("你好，快递没更新。", "别着急，我帮您查。", system="客服"), sharegpt("q2", "a2")]


def _jsonl(rows: list[dict]) -> bytes:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode("utf-8")


async def test_upload_list_show_export_diff(tmp_path: Path) -> None:
    async with api_client(tmp_path, register_style=False) as (client, _):
        files = {"file": ("camel.jsonl", _jsonl(ROWS), "application/octet-stream")}
        created = await client.post("/v1/datasets", data={"name": "roleplay", "tag": "v1.0"}, files=files)
        assert created.status_code == 201, created.text
        body = created.json()
        assert body["version"]["version"] == 1 and body["version"]["rows"] == 2
        assert "sharegpt" in body["detected"][0] and body["version"]["sources"][0]["path"] == "upload:camel.jsonl"

        csv = "question,answer\n额度怎么提升？,在App里申请。\n".encode("gbk")
        mapped = await client.post(
            "/v1/datasets",
            data={"name": "roleplay", "map": "user=question,assistant=answer"},
            files={"file": ("support.csv", csv, "text/csv")},
        )
        assert mapped.status_code == 201, mapped.text

        listed = (await client.get("/v1/datasets")).json()
        assert [(item["name"], item["versions"]) for item in listed["items"]] == [("roleplay", 2)]
        detail = (await client.get("/v1/datasets/roleplay")).json()
        assert [v["version"] for v in detail["versions"]] == [1, 2]
        tagged = (await client.get("/v1/datasets/roleplay/versions/v1.0")).json()
        assert tagged["version"] == 1 and tagged["tag"] == "v1.0"

        exported = await client.get("/v1/datasets/roleplay/versions/1/export", params={"format": "openai"})
        assert exported.status_code == 200 and exported.headers["content-type"].startswith("application/x-ndjson")
        lines = [json.loads(line) for line in exported.text.splitlines()]
        assert lines[0]["messages"][0] == {"role": "system", "content": "客服"} and len(lines) == 2

        diff = (await client.get("/v1/datasets/roleplay/versions/2/diff", params={"against": "1"})).json()
        assert (diff["added"], diff["removed"], diff["changed"]) == (1, 2, 0)
        assert diff["examples"]["added"][0]["after"]["turns"][0]["content"] == "额度怎么提升？"


async def test_errors_say_what_to_fix(tmp_path: Path) -> None:
    async with api_client(tmp_path, register_style=False, max_upload_bytes=2048) as (client, _):
        files = {"file": ("a.jsonl", _jsonl(ROWS), "application/octet-stream")}
        assert (await client.post("/v1/datasets", data={"name": "d"}, files=files)).status_code == 201

        missing = await client.get("/v1/datasets/d/versions/9")
        assert missing.status_code == 404 and missing.json()["error"] == "version_not_found"
        assert "versions: 1" in missing.json()["message"]
        assert (await client.get("/v1/datasets/nope")).json()["error"] == "dataset_not_found"

        bad = _jsonl([ROWS[0], {"conversations": [{"from": "gpt", "value": "x"}]}])
        refused = await client.post("/v1/datasets", data={"name": "d"}, files={"file": ("b.jsonl", bad, "x")})
        assert refused.status_code == 422 and refused.json()["error"] == "bad_row"
        assert "upload:b.jsonl: row 2, field conversations[0].from" in refused.json()["message"]
        skipped = await client.post(
            "/v1/datasets", data={"name": "d", "on_error": "skip"}, files={"file": ("b.jsonl", bad, "x")}
        )
        assert skipped.status_code == 201 and skipped.json()["version"]["rejected"] == 1

        traversal = await client.post("/v1/datasets", data={"name": "../x"}, files=files)
        assert traversal.status_code == 422
        conflict = await client.post("/v1/datasets", data={"name": "d", "tag": "v1"}, files=files)
        assert conflict.status_code == 201
        again = await client.post("/v1/datasets", data={"name": "d", "tag": "v1"}, files=files)
        assert again.status_code == 409 and again.json()["error"] == "dataset_conflict"

        big = b"x" * 4096
        too_large = await client.post("/v1/datasets", data={"name": "d"}, files={"file": ("big.jsonl", big, "x")})
        assert too_large.status_code == 413 and too_large.json()["error"] == "request_too_large"
        unknown = await client.post("/v1/datasets", data={"name": "d"}, files={"file": ("a.xlsx", b"PK", "x")})
        assert unknown.status_code == 422 and ".jsonl" in unknown.json()["message"]
        versions = (await client.get("/v1/datasets/d")).json()["versions"]
        assert [v["version"] for v in versions] == [1, 2, 3]  # nothing half-written by the failures


async def test_openapi_documents_every_status(tmp_path: Path) -> None:
    async with api_client(tmp_path, register_style=False) as (client, _):
        paths = (await client.get("/openapi.json")).json()["paths"]
    assert set(paths["/v1/datasets"]["post"]["responses"]) >= {"201", "401", "409", "413", "422"}
    assert set(paths["/v1/datasets/{name}/versions/{version}"]["get"]["responses"]) >= {"200", "404", "422"}
    assert (
        "/v1/datasets/{name}/versions/{version}/export" in paths
        and "/v1/datasets/{name}/versions/{version}/diff" in paths
    )
