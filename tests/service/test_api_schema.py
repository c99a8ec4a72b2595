"""Property-based API testing: schemathesis against the app's own OpenAPI schema (fake models, ASGI).

Checks: no 5xx, no undocumented status code, content types and bodies match the schema. Bounded
(few examples per operation) so the whole run stays well under a minute.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from service.http.app import create_app
from tests.fakes import FakeEmbedder, fake_role_models
from tests.service.api_support import make_settings

_DATA_DIR = Path(tempfile.mkdtemp(prefix="dialogforge-schemathesis-"))
app = create_app(
    make_settings(_DATA_DIR, max_job_n=5, max_concurrent_jobs=2, sample_timeout_s=5),
    models=fake_role_models(),
    embedder=FakeEmbedder(),
)
schema = schemathesis.openapi.from_asgi("/openapi.json", app)
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_schema(case: schemathesis.Case) -> None:
    case.call_and_validate(checks=CHECKS)
