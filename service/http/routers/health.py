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
    """Say the service is up, what LLM it uses and how many jobs run (no auth)."""
    llm = "embedded" if engine.is_embedded else ("remote" if engine.settings.llm_base_url else "injected")
    if request.app.state.injected_models:
        llm = "injected"
    return Health(status="ok", llm=llm, jobs_running=manager.running, auth=bool(request.app.state.api_keys))


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
