"""Map errors to JSON 4xx/5xx answers that say what to fix, and document them in the OpenAPI schema."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from graph.datasets.errors import DatasetError
from service.http.schemas import ErrorResponse
from service.jobs.errors import (
    InvalidRequestError,
    JobConflictError,
    JobNotFoundError,
    JobServiceError,
    LimitExceededError,
    ShuttingDownError,
    StorageFullError,
    StyleNotFoundError,
)
from service.logging_setup import request_id_var

logger = logging.getLogger(__name__)

DESCRIPTIONS = {
    401: "Missing or wrong API key (send `Authorization: Bearer <key>`).",
    404: "No such job, style, data set or version (a missing version's message lists the versions that exist).",
    409: (
        "The job, style or data set is in a state that does not allow this (e.g. a version tag already used, or an "
        "Idempotency-Key sent again with another body)."
    ),
    413: "The request body (or uploaded file) is too large.",
    422: (
        "The request is malformed or names an unknown style, format or judge prompt, or an uploaded file has a bad "
        "name, encoding, format or row (the message names the file, row and field); the message says what."
    ),
    429: "A limit was reached (running jobs, event readers, on-demand requests).",
    503: "The service is shutting down.",
    507: "The data directory's disk is full: nothing new can be stored until space is freed.",
}
STATUS_OF: dict[type[JobServiceError], int] = {
    JobNotFoundError: 404,
    StyleNotFoundError: 422,
    JobConflictError: 409,
    InvalidRequestError: 422,
    LimitExceededError: 429,
    ShuttingDownError: 503,
    StorageFullError: 507,
}
DATASET_STATUS = {"dataset_not_found": 404, "version_not_found": 404, "dataset_conflict": 409}
"""Data-set error codes that are not 422 (a bad name, source, format or row is 422)."""
_NOT_AN_OBJECT = {"model_attributes_type", "dict_type", "model_type"}
_CODES = {401: "unauthorized", 404: "not_found", 405: "method_not_allowed", 409: "conflict", 413: "request_too_large"}


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """Return the ``responses=`` entries of these error codes (all share ErrorResponse)."""
    return {code: {"model": ErrorResponse, "description": DESCRIPTIONS[code]} for code in codes}


def error_json(status: int, error: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """Build an error answer with the current request id."""
    body = ErrorResponse(error=error, message=message, request_id=request_id_var.get())
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


def _without_kind_tag(loc: tuple[Any, ...]) -> tuple[Any, ...]:
    """Drop the job kind pydantic puts in a job body's error path (``body.generate.n`` -> ``body.n``)."""
    from service.jobs.kinds import KINDS

    if len(loc) > 1 and loc[0] == "body" and loc[1] in KINDS:
        return (loc[0], *loc[2:])
    return loc


def describe_validation(exc: RequestValidationError) -> str:
    """Turn validation errors into one line naming each field and what to fix."""
    problems = []
    for item in exc.errors()[:10]:
        loc = _without_kind_tag(tuple(item.get("loc", ())))
        where = ".".join(str(part) for part in loc)
        if item.get("type") == "json_invalid":
            reason = item.get("ctx", {}).get("error", "invalid JSON")
            problems.append(f"the body is not valid JSON ({reason}); send a JSON object")
        elif loc == ("body",) and item.get("type") in _NOT_AN_OBJECT:
            problems.append("the body must be a JSON object sent with 'Content-Type: application/json'")
        elif item.get("type") == "missing":
            problems.append(f"{where}: required field is missing")
        else:
            problems.append(f"{where}: {item.get('msg', 'invalid value')}")
    return "; ".join(problems) or "invalid request"


async def _validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return error_json(422, "invalid_request", describe_validation(exc))


async def _service(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, JobServiceError)
    status = next((code for kind, code in STATUS_OF.items() if isinstance(exc, kind)), 400)
    retry_after = getattr(exc, "retry_after_s", 5)
    headers = {"Retry-After": str(retry_after)} if status in (429, 503, 507) else None
    return error_json(status, exc.code, str(exc), headers)


async def _dataset(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DatasetError)
    return error_json(DATASET_STATUS.get(exc.code, 422), exc.code, str(exc))


async def _http(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 400:  # FastAPI's "error parsing the body" (e.g. the body is not UTF-8)
        if isinstance(exc.__cause__, RecursionError):  # json.loads gave up on the nesting
            return error_json(422, "invalid_request", "nesting too deep: the body's JSON nests too many levels")
        return error_json(422, "invalid_request", "the body could not be read as UTF-8 JSON; send a JSON object")
    code = _CODES.get(exc.status_code, "http_error")
    return error_json(exc.status_code, code, str(exc.detail), dict(exc.headers or {}))


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    logger.exception("unhandled error: %s", type(exc).__name__)
    return error_json(500, "internal_error", f"internal error (request id {request_id_var.get()})")


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers: validation 422, service errors by kind, HTTP errors, anything else 500."""
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(JobServiceError, _service)
    app.add_exception_handler(DatasetError, _dataset)
    app.add_exception_handler(HTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)
