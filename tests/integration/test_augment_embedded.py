"""Augmentation with the real embedded model and the bundled e5 embedder: two operators end to end.

``POST /v1/jobs {"kind": "augment"}`` on the real app (its lifespan, job service and SQLite job store)
over a version of two rows (one zh, one en) in the data-set store on disk: every child goes through
the operator's draft, its checks with real embeddings, the judge and the rewriter of the embedded
model, and the job ends with a summary and, when a child was accepted, a new version whose
children carry their lineage.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest

from agents.llm import RoleModels
from graph.datasets.importer import import_sources
from graph.datasets.store import DatasetStore
from service.http.app import create_app
from tests.service.api_support import make_settings

pytestmark = pytest.mark.embedded

PARENTS = Path(__file__).resolve().parents[2] / "evals" / "sets" / "augment-parents.jsonl"


async def test_paraphrase_and_extend_on_the_embedded_model(tmp_path: Path, embedded_models: RoleModels) -> None:
    rows = PARENTS.read_text(encoding="utf-8").splitlines()[:2]  # one zh row, one en row
    assert [json.loads(row)["language"] for row in rows] == ["zh", "en"]
    (tmp_path / "parents.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")
    import_sources(DatasetStore(tmp_path), "support", [str(tmp_path / "parents.jsonl")])
    app = create_app(make_settings(tmp_path, embedder="e5"), models=embedded_models)
    body = {
        "kind": "augment", "source": "support@1", "into": "support-grown", "style": "empathetic-cs",
        "ops": [{"op": "paraphrase"}, {"op": "extend", "turns": 2}], "concurrency": 2, "max_rewrites": 1,
    }  # fmt: skip
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test", timeout=60) as client:
            created = await client.post("/v1/jobs", json=body)
            assert created.status_code == 202, created.text
            job_id = created.json()["id"]
            for _ in range(1200):  # 10 minutes at most: 4 children, up to 2 drafts and 2 judge rounds each
                job = (await client.get(f"/v1/jobs/{job_id}")).json()
                if job["status"] not in ("queued", "running"):
                    break
                await asyncio.sleep(0.5)
    assert job["status"] == "completed", job
    summary = job["summary"]
    assert summary["accepted"] + summary["rejected"] == 4 and summary["llm_calls"] >= 8  # a draft and a judge each
    assert sum(summary["accepted_by_operator"].values()) == summary["accepted"]
    assert all(reason for reason in summary["rejected_by_reason"])  # every rejection says why
    if summary["accepted"]:
        children = [row for page in DatasetStore(tmp_path).iter_samples(job["version"]) for row in page]
        assert len(children) == summary["accepted"]
        for child in children:
            assert child.lineage.origin == "augmented" and child.lineage.parent_version == "support@1"
            assert child.lineage.operator in ("paraphrase", "extend") and child.lineage.parent_id
            assert child.verdict is not None and child.verdict.passed
            if child.lineage.operator == "extend":
                assert len(child.turns) == 4
