"""``/v1/jobs``: start, list, show and cancel dataset jobs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from service.http.deps import Authenticated, JobId, ManagerDep
from service.http.errors import responses
from service.http.schemas import JobCreate, JobList, JobResponse
from service.jobs.models import JobRequest

router = APIRouter(prefix="/v1/jobs", tags=["jobs"], dependencies=[Authenticated])


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobResponse,
    responses=responses(401, 413, 422, 429, 503, 507),
    summary="Start a dataset job",
)
async def create_job(body: JobCreate, manager: ManagerDep, response: Response) -> JobResponse:
    """Start a job that makes n accepted samples; follow it with the returned links.

    422 when n exceeds the server's max, or the style or judge prompt is unknown; 429 when the
    server already runs its maximum of concurrent jobs; 507 when the data directory's disk is full.
    """
    record = await manager.start(JobRequest.model_validate(body.model_dump()))
    response.headers["Location"] = f"/v1/jobs/{record.id}"
    return JobResponse.of(record)


@router.get("", response_model=JobList, responses=responses(401, 422), summary="List jobs")
async def list_jobs(
    manager: ManagerDep,
    request: Request,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> JobList:
    """Return one page of jobs, newest first."""
    page = await manager.list(offset, limit)
    following = offset + len(page.items)
    next_url = f"{request.url.path}?offset={following}&limit={limit}" if following < page.total else None
    return JobList(
        items=[JobResponse.of(item) for item in page.items],
        total=page.total,
        offset=page.offset,
        limit=page.limit,
        next=next_url,
    )


@router.get("/{job_id}", response_model=JobResponse, responses=responses(401, 404, 422), summary="Show a job")
async def get_job(job_id: JobId, manager: ManagerDep) -> JobResponse:
    """Return a job's status, live progress and (once ended) summary."""
    return JobResponse.of(await manager.get(job_id))


@router.post(
    "/{job_id}/cancel",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobResponse,
    responses=responses(401, 404, 409, 422),
    summary="Cancel a job",
)
async def cancel_job(job_id: JobId, manager: ManagerDep) -> JobResponse:
    """Stop the job from starting samples; in-flight samples finish and are kept (409 if it ended)."""
    return JobResponse.of(await manager.cancel(job_id))
