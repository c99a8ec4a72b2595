"""``/v1/jobs``: start, list, show and cancel dataset jobs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response, status

from service.http.deps import Authenticated, JobId, ManagerDep
from service.http.errors import responses
from service.http.schemas import JobCreate, JobList, JobResponse
from service.jobs.client_keys import KEY_PATTERN, KEY_TTL_S

router = APIRouter(prefix="/v1/jobs", tags=["jobs"], dependencies=[Authenticated])

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        pattern=KEY_PATTERN,
        description=(
            "Any unique string (e.g. a UUID) naming this creation: sent again with the same body, the answer is the "
            f"job the first request made (nothing new starts); with another body, 409. Kept {KEY_TTL_S / 3600:.0f} h."
        ),
    ),
]


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=JobResponse,
    responses=responses(401, 404, 409, 413, 422, 429, 503, 507),
    summary="Start a dataset job",
)
async def create_job(
    body: JobCreate, manager: ManagerDep, response: Response, idempotency_key: IdempotencyKey = None
) -> JobResponse:
    """Start a job that makes n accepted samples; follow it with the returned links.

    Send an ``Idempotency-Key`` header to make a retry safe: the same key and body return the
    job the first request started (whatever its state); the same key with another body is 409.

    ``kind: clean`` cleans a version (``source``) into a new version of ``into`` with a chain of
    operators (``ops`` or ``recipe``); 404 when the source data set or version does not exist.
    422 when n exceeds the server's max, or the style or judge prompt is unknown; 429 when the
    server already runs its maximum of concurrent jobs; 507 when the data directory's disk is full.
    """
    record = await manager.start(body, key=None if idempotency_key is None else f"http:{idempotency_key}")
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
