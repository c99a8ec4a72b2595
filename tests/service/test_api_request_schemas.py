"""Every request schema refuses unknown fields and non-finite numbers (422), and says so in the OpenAPI schema."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi import params
from fastapi.routing import APIRoute
from pydantic import BaseModel

from service.http.app import create_app
from tests.fakes import FakeEmbedder, fake_role_models
from tests.service.api_support import TEST_STYLE, api_client, make_settings

DIALOGUE = [{"role": "user", "content": "今天好累"}, {"role": "assistant", "content": "辛苦啦，休息一下呀"}]


def request_models(model: type[BaseModel], seen: set[type[BaseModel]] | None = None) -> set[type[BaseModel]]:
    """Return a model and every model its fields use, however nested."""
    seen = seen if seen is not None else set()
    if model in seen:
        return seen
    seen.add(model)
    for field in model.model_fields.values():
        for kind in _types_in(field.annotation):
            if isinstance(kind, type) and issubclass(kind, BaseModel):
                request_models(kind, seen)
    return seen


def _types_in(annotation: Any) -> list[Any]:
    found = [annotation]
    for argument in getattr(annotation, "__args__", ()):
        found += _types_in(argument)
    return found


def api_routes(routes: list[Any]) -> list[APIRoute]:
    """Return the app's API routes (FastAPI keeps an included router's routes on the router)."""
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):
            found += api_routes(route.original_router.routes)
    return found


def body_models(tmp_path: Path) -> set[type[BaseModel]]:
    """Return the models of every JSON request body (multipart forms, e.g. uploads, are not models of ours)."""
    app = create_app(make_settings(tmp_path), models=fake_role_models(), embedder=FakeEmbedder())
    models: set[type[BaseModel]] = set()
    for route in api_routes(app.routes):
        if route.body_field is not None and not isinstance(route.body_field.field_info, params.Form):
            request_models(route.body_field.field_info.annotation, models)  # type: ignore[arg-type]
    return models


def test_every_request_model_forbids_unknown_fields_and_non_finite_numbers(tmp_path: Path) -> None:
    models = body_models(tmp_path)
    assert len(models) >= 8, sorted(model.__name__ for model in models)
    lax = sorted(model.__name__ for model in models if model.model_config.get("extra") != "forbid")
    non_finite = sorted(model.__name__ for model in models if model.model_config.get("allow_inf_nan", True))
    assert lax == [] and non_finite == [], (lax, non_finite)
    print(f"{len(models)} request models checked: {', '.join(sorted(model.__name__ for model in models))}")


@pytest.mark.parametrize(
    ("path", "body", "where"),
    [
        ("/v1/jobs", {"style": TEST_STYLE, "n": 1, "budget": {"max_atempts": 1}}, "body.budget.max_atempts"),
        ("/v1/jobs", {"style": TEST_STYLE, "n": 1, "colour": "red"}, "body.colour"),
        ("/v1/samples", {"style": TEST_STYLE, "k": 1, "topics": "x"}, "body.topics"),
        ("/v1/judge", {"style": "gentle", "samples": [{"turns": DIALOGUE, "sytem": "x"}]}, "body.samples.0.sytem"),
        (
            "/v1/judge",
            {"style": "gentle", "samples": [{"turns": [{**DIALOGUE[0], "name": "x"}, DIALOGUE[1]]}]},
            "body.samples.0.turns.0.name",
        ),
        ("/v1/styles", {"yaml": "a: 1", "extra": 1}, "body.extra"),
    ],
)
async def test_unknown_fields_are_422_naming_the_field(
    tmp_path: Path, path: str, body: dict[str, Any], where: str
) -> None:
    async with api_client(tmp_path) as (client, _):
        answer = await client.post(path, json=body)
        assert answer.status_code == 422, answer.text
        assert f"{where}: Extra inputs are not permitted" in answer.json()["message"]


@pytest.mark.parametrize("literal", ["Infinity", "-Infinity", "NaN"])
@pytest.mark.parametrize(
    ("path", "template", "where"),
    [
        ("/v1/jobs", '{"style": "%s", "n": 1, "budget": {"deadline_s": %s}}', "body.budget.deadline_s"),
        ("/v1/samples", '{"style": "%s", "k": 1, "timeout_s": %s}', "body.timeout_s"),
    ],
)
async def test_non_finite_numbers_are_422(tmp_path: Path, path: str, template: str, where: str, literal: str) -> None:
    async with api_client(tmp_path) as (client, _):
        content = template % (TEST_STYLE, literal)
        answer = await client.post(path, content=content, headers={"content-type": "application/json"})
        assert answer.status_code == 422, answer.text
        assert where in answer.json()["message"]
        assert (await client.get("/v1/jobs")).json()["total"] == 0


async def test_the_openapi_schema_says_unknown_fields_are_refused(tmp_path: Path) -> None:
    async with api_client(tmp_path, register_style=False) as (client, _):
        schema = (await client.get("/openapi.json")).json()
    components = schema["components"]["schemas"]
    for name in ("JobCreate", "Budget", "SampleCreate", "JudgeRequest", "JudgeItem", "TurnIn", "StyleCreate"):
        assert components[name].get("additionalProperties") is False, name
