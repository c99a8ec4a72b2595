"""``/v1/jobs/{id}/...``: follow a job (Server-Sent Events), stream its data set, read its report."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any, get_args

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from sse_starlette import EventSourceResponse, ServerSentEvent

from graph.datasets.export import ExportFormat, iter_jsonl_lines
from graph.datasets.report import report_data
from service.http.deps import Authenticated, JobId, ManagerDep
from service.http.errors import responses
from service.http.openapi import event_stream_doc
from service.http.schemas import ReportResponse
from service.jobs.errors import JobConflictError
from service.jobs.manager import JobManager
from service.jobs.models import JobUpdate

router = APIRouter(prefix="/v1/jobs", tags=["jobs"], dependencies=[Authenticated])

SSE_PING_S = 15
SSE_SEND_TIMEOUT_S = 30
_EVENTS_DOC = event_stream_doc(
    "A stream of `snapshot`, `status`, `sample` and finally `end` events; each event's data is JobUpdate JSON.",
    JobUpdate,
    get_args(JobUpdate.model_fields["kind"].annotation),
)
_DATASET_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The accepted samples, one JSON record a line, in the chosen format.",
        "content": {"application/x-ndjson": {"schema": {"type": "string"}}},
    }
}


@router.get(
    "/{job_id}/events",
    response_class=EventSourceResponse,
    responses={**_EVENTS_DOC, **responses(401, 404, 422, 429)},
    summary="Follow a job's progress (Server-Sent Events)",
)
async def job_events(job_id: JobId, manager: ManagerDep) -> EventSourceResponse:
    """Stream progress (accepted, rejected, rewrites, tokens, rate) until the job ends.

    A slow reader skips intermediate events (``dropped`` counts them); ``end`` always arrives.
    """
    updates = manager.subscribe(job_id)
    first = await anext(updates)  # raises 404/429 before the stream starts

    async def stream() -> AsyncIterator[ServerSentEvent]:
        try:
            yield _event(first)
            async for update in updates:
                yield _event(update)
        finally:
            await updates.aclose()

    return EventSourceResponse(stream(), ping=SSE_PING_S, send_timeout=SSE_SEND_TIMEOUT_S)


def _event(update: JobUpdate) -> ServerSentEvent:
    return ServerSentEvent(data=update.model_dump_json(), event=update.kind, id=str(update.seq))


@router.get(
    "/{job_id}/dataset",
    response_class=StreamingResponse,
    responses={**_DATASET_DOC, **responses(401, 404, 422)},
    summary="Download the data set (JSONL)",
)
async def job_dataset(
    job_id: JobId,
    manager: ManagerDep,
    fmt: Annotated[
        ExportFormat | None,
        Query(alias="format", description="alpaca | sharegpt | openai | raw (default: the job's first)"),
    ] = None,
) -> StreamingResponse:
    """Stream the accepted samples so far as JSON Lines (the whole set once the job has ended)."""
    return await dataset_response(manager, job_id, fmt)


async def dataset_response(manager: JobManager, job_id: str, fmt: ExportFormat | None) -> StreamingResponse:
    """Return a job's accepted samples as a streamed JSONL download (``fmt`` None: the job's first format)."""
    record = await manager.get(job_id)
    chosen: ExportFormat = fmt or record.request.formats[0]

    async def lines() -> AsyncIterator[str]:
        async for page in manager.iter_samples(job_id, "accepted"):
            for line in iter_jsonl_lines(page, chosen):
                yield line

    headers = {
        "Content-Disposition": f'attachment; filename="{job_id}-{chosen}.jsonl"',
        "X-Job-Status": record.status,
    }
    return StreamingResponse(lines(), media_type="application/x-ndjson", headers=headers)


@router.get(
    "/{job_id}/report",
    response_model=ReportResponse,
    responses=responses(401, 404, 409, 422),
    summary="Read the job's report.json",
)
async def job_report(job_id: JobId, manager: ManagerDep) -> dict[str, Any]:
    """Return report.json: request, summary, accepted and rejected samples (409 until the job ends)."""
    record = await manager.get(job_id)
    if record.summary is None:
        raise JobConflictError(f"job {job_id} is {record.status}; its report exists once it has ended")
    samples = await manager.samples(job_id, None)
    return report_data(record.summary, samples, record.request.model_dump(mode="json"))
