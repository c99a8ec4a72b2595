"""``/v1/datasets``: upload files as versions, list and show data sets, export and diff versions."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path, PurePath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, Query, UploadFile, status
from fastapi import Path as PathParam
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

from graph.datasets.diff import VersionDiff, diff_versions
from graph.datasets.errors import SourceError
from graph.datasets.export import ExportFormat
from graph.datasets.importer import ImportOptions, import_readers, parse_pairs
from graph.datasets.manifest import Manifest
from graph.datasets.readers import SUFFIXES, open_file
from graph.datasets.refs import NAME_PATTERN, TAG_PATTERN, parse_ref
from graph.datasets.version_export import iter_version_lines
from service.http.deps import Authenticated, DatasetsDep, SettingsDep
from service.http.errors import responses

UPLOAD_PATH = "/v1/datasets"
router = APIRouter(prefix=UPLOAD_PATH, tags=["datasets"], dependencies=[Authenticated])

DatasetName = Annotated[str, PathParam(pattern=NAME_PATTERN, description="The data set's name.")]
VersionSelector = Annotated[
    str, PathParam(pattern=rf"^([1-9][0-9]{{0,8}}|{TAG_PATTERN[1:-1]}|latest)$", description="A number, tag or latest.")
]
_EXPORT_DOC: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The version's samples, one JSON record a line, in the chosen format.",
        "content": {"application/x-ndjson": {"schema": {"type": "string"}}},
    }
}


def _links(name: str, version: str) -> dict[str, Any]:
    """Return the OpenAPI links from a response naming a data set and a version to the routes that read them."""
    both = {"name": name, "version": version}
    return {
        "ShowDataset": {"operationId": "get_dataset", "parameters": {"name": name}},
        "ShowVersion": {"operationId": "get_version", "parameters": both},
        "ExportVersion": {"operationId": "export_version", "parameters": both},
        "DiffVersion": {"operationId": "diff_version", "parameters": {**both, "against": version}},
    }


# A client (or schemathesis' stateful phase) follows these from an upload or the list to real names.
_UPLOAD_LINKS = _links("$response.body#/version/name", "$response.body#/version/version")
_LIST_LINKS = _links("$response.body#/items/0/name", "$response.body#/items/0/latest/version")


class DatasetSummary(BaseModel):
    """A data set and its latest version."""

    name: str
    versions: int
    latest: Manifest


class DatasetList(BaseModel):
    """Every data set."""

    items: list[DatasetSummary]


class DatasetDetail(BaseModel):
    """A data set with every version, oldest first."""

    name: str
    versions: list[Manifest]


class ImportResponse(BaseModel):
    """The version an upload made, and what was detected in it."""

    version: Manifest
    detected: list[str]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ImportResponse,
    responses={201: {"description": "The new version.", "links": _UPLOAD_LINKS}, **responses(401, 409, 413, 422)},
    summary="Upload a file as a new version of a data set",
)
async def upload_dataset(
    datasets: DatasetsDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description=f"The rows: {', '.join(SUFFIXES)} (by the file name's suffix).")],
    name: Annotated[str, Form(pattern=NAME_PATTERN, description="The data set (created if new).")],
    format: Annotated[Literal["sharegpt", "openai", "alpaca"] | None, Form(description="Default: detected.")] = None,
    map: Annotated[str | None, Form(description="user=COL,assistant=COL[,system=COL]")] = None,
    chat_log: Annotated[str | None, Form(description="speaker=COL,text=COL,time=COL,me=COL (see the CLI)")] = None,
    on_error: Annotated[Literal["fail", "skip"], Form(description="skip: bad rows go to rejects.jsonl")] = "fail",
    encoding: Annotated[str | None, Form(description="Default: sniffed.")] = None,
    tag: Annotated[str | None, Form(pattern=TAG_PATTERN)] = None,
) -> ImportResponse:
    """Import the uploaded file as a new immutable version (201), or say what to fix (422, 409, 413)."""
    suffix = PurePath(file.filename or "").suffix.lower()
    if suffix not in SUFFIXES:
        raise SourceError(f"upload {file.filename!r}: name the file with one of {', '.join(SUFFIXES)}")
    options = ImportOptions(
        format=format, mapping=parse_pairs(map, "map"), chat_log=parse_pairs(chat_log, "chat_log"), on_error=on_error,
        encoding=encoding, tag=tag,
    )  # fmt: skip
    uploads = settings.data_dir / "uploads"
    uploads.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=uploads) as folder:
        path = Path(folder) / f"upload{suffix}"
        with path.open("wb") as handle:
            await asyncio.to_thread(shutil.copyfileobj, file.file, handle, 1 << 20)
        shown = f"upload:{PurePath(file.filename or 'file').name}"

        def run() -> ImportResponse:
            reader = open_file(path, shown, encoding=encoding)
            result = import_readers(datasets, name, [reader], options)
            return ImportResponse(version=result.manifest, detected=result.detected)

        return await asyncio.to_thread(run)


@router.get(
    "",
    response_model=DatasetList,
    responses={200: {"description": "Every data set.", "links": _LIST_LINKS}, **responses(401)},
    summary="List data sets",
)
async def list_datasets(datasets: DatasetsDep) -> DatasetList:
    """Return every data set with its latest version."""

    def run() -> DatasetList:
        items = []
        for dataset in datasets.names():
            versions = datasets.versions(dataset)
            items.append(DatasetSummary(name=dataset, versions=len(versions), latest=versions[-1]))
        return DatasetList(items=items)

    return await asyncio.to_thread(run)


@router.get(
    "/{name}",
    response_model=DatasetDetail,
    responses=responses(401, 404, 422),
    summary="Show a data set",
    operation_id="get_dataset",
)
async def get_dataset(name: DatasetName, datasets: DatasetsDep) -> DatasetDetail:
    """Return every version's manifest (404 lists the data sets that exist)."""
    return DatasetDetail(name=name, versions=await asyncio.to_thread(datasets.versions, name))


@router.get(
    "/{name}/versions/{version}",
    response_model=Manifest,
    responses=responses(401, 404, 422),
    summary="Show a version",
    operation_id="get_version",
)
async def get_version(name: DatasetName, version: VersionSelector, datasets: DatasetsDep) -> Manifest:
    """Return one version's manifest (404 lists the versions that exist)."""
    return await asyncio.to_thread(datasets.resolve, f"{name}@{version}")


@router.get(
    "/{name}/versions/{version}/export",
    response_class=StreamingResponse,
    responses={**_EXPORT_DOC, **responses(401, 404, 422)},
    summary="Download a version (JSONL)",
    operation_id="export_version",
)
async def export_version(
    name: DatasetName,
    version: VersionSelector,
    datasets: DatasetsDep,
    fmt: Annotated[ExportFormat, Query(alias="format", description="alpaca | sharegpt | openai | raw")] = "sharegpt",
) -> StreamingResponse:
    """Stream the version's samples as JSON Lines (training formats: the accepted samples)."""
    manifest = await asyncio.to_thread(datasets.resolve, f"{name}@{version}")
    headers = {"Content-Disposition": f'attachment; filename="{name}-v{manifest.version}-{fmt}.jsonl"'}
    return StreamingResponse(
        iter_version_lines(datasets, manifest, fmt), media_type="application/x-ndjson", headers=headers
    )


@router.get(
    "/{name}/versions/{version}/diff",
    response_model=VersionDiff,
    responses=responses(401, 404, 422),
    summary="Compare a version with another",
    operation_id="diff_version",
)
async def diff_version(
    name: DatasetName,
    version: VersionSelector,
    datasets: DatasetsDep,
    against: Annotated[str, Query(max_length=100, description="A version of this data set (2, v1.1) or name@N.")],
    examples: Annotated[int, Query(ge=0, le=50)] = 3,
) -> VersionDiff:
    """Return samples added, removed and changed from ``against`` to this version, by id."""
    base = str(parse_ref(against if "@" in against else f"{name}@{against}"))
    return await asyncio.to_thread(diff_versions, datasets, base, f"{name}@{version}", examples)
