"""``GET /chat/datasets/{token}``: a data set through a chat's short-lived download link.

The token (``service.chatops.links``) is the only credential: chat users hold no API key. A
forged, damaged or expired token gets 401 with what to do. Left out of the OpenAPI schema: it
is a link for people, not an API.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, StreamingResponse

from service.chatops.links import LINK_PATH, DownloadLinks, InvalidLinkError
from service.http.deps import ManagerDep
from service.http.errors import error_json
from service.http.routers.job_outputs import dataset_response

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
