"""``/v1/samples``: make a few samples now, bounded by a timeout."""

from __future__ import annotations

from fastapi import APIRouter

from service.http.deps import Authenticated, ManagerDep
from service.http.errors import responses
from service.http.schemas import SampleCreate
from service.jobs.models import SampleBatch

router = APIRouter(prefix="/v1/samples", tags=["samples"], dependencies=[Authenticated])


@router.post("", response_model=SampleBatch, responses=responses(401, 413, 422, 429, 503), summary="Make samples now")
async def create_samples(body: SampleCreate, manager: ManagerDep) -> SampleBatch:
    """Make up to k (≤ 10) accepted samples in a style; returns every finished sample with its verdict.

    On timeout the answer is still 200: ``timed_out`` is true and ``message`` says how many were
    accepted. 422 for an unknown style or judge prompt; 429 when too many requests run at once.
    """
    return await manager.sample_now(
        body.style,
        body.k,
        body.topic,
        body.timeout_s,
        workspace=body.workspace,
        judge=body.judge,
        max_rewrites=body.max_rewrites,
    )
