"""``GET /chat/datasets/{token}`` and ``GET /chat/reports/{token}``: a data set or a QC report by a chat's link.

The token (``service.chatops.links``) is the only credential: chat users hold no API key. A
forged, damaged or expired token gets 401 with what to do. Left out of the OpenAPI schema: it
is a link for people, not an API.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, StreamingResponse

from service.chatops.links import LINK_PATH, REPORT_PATH, DownloadLinks, InvalidLinkError
from service.http.deps import ManagerDep
from service.http.errors import error_json
from service.http.routers.job_outputs import dataset_response

REPORT_HEADERS = {  # the report is static HTML with inline styles and data-URI plots: nothing else may load or run
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # the token is in the URL
    "Cache-Control": "no-store",
}

router = APIRouter(tags=["chat"])


@router.get(f"{LINK_PATH}/{{token}}", include_in_schema=False, response_model=None)
async def chat_dataset(token: str, request: Request, manager: ManagerDep) -> StreamingResponse | JSONResponse:
    """Stream the data set a valid link names."""
    links: DownloadLinks | None = getattr(request.app.state, "chat_links", None)
    if links is None:
        return error_json(503, "starting", "the service is still starting; try the link again in a few seconds")
    try:
        link = links.check(token)
    except InvalidLinkError as exc:
        return error_json(401, "invalid_link", f"{exc}; ask the bot `status <job id>` in the chat for a fresh link")
    return await dataset_response(manager, link.job_id, link.format)


@router.get(f"{REPORT_PATH}/{{token}}", include_in_schema=False, response_model=None)
async def chat_report(token: str, request: Request) -> FileResponse | JSONResponse:
    """Serve the chat QC report a valid link names (report.html as the chat built it)."""
    links: DownloadLinks | None = getattr(request.app.state, "chat_links", None)
    dispatcher = getattr(request.app.state, "chat", None)
    service = getattr(dispatcher, "service", None)
    if links is None or service is None:
        return error_json(503, "starting", "the service is still starting; try the link again in a few seconds")
    try:
        ref = links.check_report(token)
    except InvalidLinkError as exc:
        return error_json(401, "invalid_link", f"{exc}; ask the bot `report <version>` in the chat again")
    path = await service.report_path(ref)
    if path is None:
        return error_json(404, "not_found", f"the report of {ref} is gone; ask the bot `report {ref}` again")
    return FileResponse(path, media_type="text/html; charset=utf-8", headers=REPORT_HEADERS)
