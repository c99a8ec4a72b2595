"""The HTTP app with the real embedded model: one on-demand sample through POST /v1/samples."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from agents.llm import RoleModels
from service.http.app import create_app
from tests.service.api_support import make_settings

pytestmark = pytest.mark.embedded


async def test_samples_endpoint_with_the_embedded_model(tmp_path: Path, embedded_models: RoleModels) -> None:
    app = create_app(make_settings(tmp_path, sample_timeout_s=600), models=embedded_models)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test", timeout=700) as client:
            body = {"style": "gentle", "k": 1, "topic": "下雨天没带伞", "max_rewrites": 0, "timeout_s": 600}
            answer = await client.post("/v1/samples", json=body)
            assert answer.status_code == 200, answer.text
            batch = answer.json()
            assert batch["timed_out"] is False and batch["requested"] == 1
            assert len(batch["samples"]) >= 1
            first = batch["samples"][0]
            assert first["total_tokens"] > 0 and first["tokens"]["generator"]["calls"] >= 1
            assert first["sample"]["status"] in ("accepted", "rejected")
            if first["sample"]["status"] == "accepted":
                assert first["sample"]["attempts"][-1]["verdict"]["passed"] is True
            metrics = (await client.get("/metrics")).text
            assert 'dialogforge_llm_calls_total{role="generator"}' in metrics
