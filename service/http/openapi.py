"""The OpenAPI document: version 3.2, with event streams described one event at a time.

OpenAPI 3.2 describes a ``text/event-stream`` response with ``itemSchema``: the schema of one
event, an object with the SSE fields (``event``, ``id``, ``data``). Our events carry JSON in
``data``, so each event kind is a ``oneOf`` branch whose ``data`` is a string with
``contentMediaType: application/json`` and a ``contentSchema`` (the model, with ``kind`` fixed to
that event's name). schemathesis validates every event of a stream against it. The models only a
stream carries are added to ``components/schemas`` by :func:`install_openapi`, since no route
returns them directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

OPENAPI_VERSION = "3.2.0"
EVENT_STREAM = "text/event-stream"
_REF = "#/components/schemas/{model}"


def event_stream_doc(description: str, model: type[BaseModel], kinds: Sequence[str]) -> dict[int | str, dict[str, Any]]:
    """Return the ``responses=`` entry of a 200 event stream whose events are ``model`` JSON, one per kind."""
    reference = {"$ref": _REF.format(model=model.__name__)}
    branches = [
        {
            "type": "object",
            "required": ["event", "id", "data"],
            "properties": {
                "event": {"const": kind},
                "id": {"type": "string", "pattern": "^[0-9]+$"},
                "data": {
                    "type": "string",
                    "contentMediaType": "application/json",
                    "contentSchema": {"allOf": [reference, {"properties": {"kind": {"const": kind}}}]},
                },
            },
        }
        for kind in kinds
    ]
    item = {"oneOf": branches}
    return {200: {"description": description, "content": {EVENT_STREAM: {"itemSchema": item}}}}


def install_openapi(app: FastAPI, stream_models: Sequence[type[BaseModel]]) -> None:
    """Make ``app.openapi()`` produce OpenAPI 3.2, with the schemas of the models event streams carry."""
    app.openapi_version = OPENAPI_VERSION
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = generate()
        for media in _event_streams(schema):
            media.pop("schema", None)  # in 3.2 `schema` would describe the whole stream, not one event
        _, definitions = models_json_schema([(model, "serialization") for model in stream_models], ref_template=_REF)
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        for name, definition in definitions.get("$defs", {}).items():
            components.setdefault(name, definition)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _event_streams(schema: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            for response in operation.get("responses", {}).values():
                media = response.get("content", {}).get(EVENT_STREAM)
                if isinstance(media, dict) and "itemSchema" in media:
                    found.append(media)
    return found
