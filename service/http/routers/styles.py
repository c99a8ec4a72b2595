"""``/v1/styles``: list, show and register style packs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Response, status

from service.http.deps import Authenticated, ManagerDep, StyleName
from service.http.errors import responses
from service.http.schemas import StyleCreate, StyleCreated, StyleDetail, StyleInfo
from service.jobs.errors import StyleNotFoundError

_REPLACED: dict[int | str, dict[str, Any]] = {
    200: {"model": StyleCreated, "description": "An earlier custom pack was replaced."}
}
router = APIRouter(prefix="/v1/styles", tags=["styles"], dependencies=[Authenticated])


@router.get("", response_model=list[StyleInfo], responses=responses(401), summary="List style packs")
async def list_styles(manager: ManagerDep) -> list[StyleInfo]:
    """Return the shipped and registered style packs."""
    return [
        StyleInfo(
            name=pack.name,
            aliases=pack.aliases,
            description=pack.description,
            language=pack.language,
            builtin=builtin,
            criteria=[criterion.name for criterion in pack.rubric],
        )
        for pack, builtin in manager.styles.all()
    ]


@router.get("/{name}", response_model=StyleDetail, responses=responses(401, 404, 422), summary="Show a style pack")
async def get_style(name: StyleName, manager: ManagerDep) -> StyleDetail:
    """Return a whole pack by name or alias."""
    try:
        pack = manager.styles.resolve(name)
    except StyleNotFoundError as exc:
        raise HTTPException(404, str(exc)) from None
    return StyleDetail(builtin=manager.styles.is_builtin(pack.name), pack=pack)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=StyleCreated,
    responses={**_REPLACED, **responses(401, 409, 413, 422, 429, 507)},
    summary="Register a custom style pack",
)
async def create_style(body: StyleCreate, manager: ManagerDep, response: Response) -> StyleCreated:
    """Validate and register a pack given as ``yaml`` text or a ``pack`` object; errors name the field.

    201 when new, 200 when it replaced a custom pack of the same name, 409 when the name or an
    alias belongs to another pack (names and aliases share one namespace).
    """
    pack = body.pack if body.pack is not None else await manager.styles.parse(body.yaml or "")
    created = await manager.styles.add(pack)
    if not created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/v1/styles/{pack.name}"
    return StyleCreated(name=pack.name, created=created)
