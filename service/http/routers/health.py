"""``/healthz`` (liveness, open) and ``/metrics`` (Prometheus text format, open)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from service.http.deps import EngineDep, ManagerDep, MetricsDep
from service.http.schemas import Health

router = APIRouter(tags=["health"])

PROMETHEUS_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@router.get("/healthz", response_model=Health, summary="Liveness")
async def healthz(request: Request, engine: EngineDep, manager: ManagerDep) -> Health:
    """Say the service is up, what LLM it uses, how many jobs run and whether the store is writable (no auth).

    A full disk makes it ``degraded`` with ``store: not_writable`` (the answer stays 200: the
    process is alive and still serves what is stored).
    """
    llm = "embedded" if engine.is_embedded else ("remote" if engine.settings.llm_base_url else "injected")
    if request.app.state.injected_models:
        llm = "injected"
    storage = await manager.storage_status()
    return Health(
        status="ok" if storage.writable else "degraded",
        llm=llm,
        jobs_running=manager.running,
        auth=bool(request.app.state.api_keys),
        store="writable" if storage.writable else "not_writable",
        message="" if storage.writable else f"the data directory cannot take writes: {storage.reason}",
    )


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {"description": "Prometheus metrics.", "content": {PROMETHEUS_TYPE: {"schema": {"type": "string"}}}}
    },
    summary="Prometheus metrics",
)
async def metrics(metrics: MetricsDep) -> Response:
    """Return requests, LLM calls, tokens, accepted/rejected samples and latencies (no auth)."""
    return Response(metrics.render(), media_type=PROMETHEUS_TYPE)
