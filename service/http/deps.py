"""FastAPI dependencies, as ``Annotated`` aliases: the job manager, engine, settings, metrics, auth."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException

from graph.datasets.store import DatasetStore
from service.engine import Engine
from service.http.metrics import ServiceMetrics
from service.jobs.manager import JobManager
from service.settings import Settings

bearer = HTTPBearer(auto_error=False, description="An API key from DIALOGFORGE_API_KEYS.")


def get_manager(request: Request) -> JobManager:
    """Return the app's job manager (built in the lifespan)."""
    manager: JobManager = request.app.state.manager
    return manager


def get_engine(request: Request) -> Engine:
    """Return the app's shared engine (built in the lifespan)."""
    engine: Engine = request.app.state.engine
    return engine


def get_datasets(request: Request) -> DatasetStore:
    """Return the app's data-set store (files under the data directory)."""
    store: DatasetStore = request.app.state.datasets
    return store


def get_settings(request: Request) -> Settings:
    """Return the app's settings."""
    settings: Settings = request.app.state.settings
    return settings


def get_metrics(request: Request) -> ServiceMetrics:
    """Return the app's metrics."""
    metrics: ServiceMetrics = request.app.state.metrics
    return metrics


def key_matches(given: str, keys: list[bytes]) -> bool:
    """Compare a key with every configured key in constant time (no early exit)."""
    candidate = given.encode()
    found = False
    for key in keys:
        found |= hmac.compare_digest(candidate, key)
    return found


async def require_api_key(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> None:
    """Check the bearer key when keys are configured (the key is never logged or echoed)."""
    keys: list[bytes] = request.app.state.api_keys
    if not keys:
        return
    challenge = {"WWW-Authenticate": "Bearer"}
    if credentials is None:
        raise HTTPException(401, "missing API key: send the header 'Authorization: Bearer <key>'", headers=challenge)
    if not key_matches(credentials.credentials, keys):
        raise HTTPException(401, "the API key is not valid", headers=challenge)


ManagerDep = Annotated[JobManager, Depends(get_manager)]
EngineDep = Annotated[Engine, Depends(get_engine)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
DatasetsDep = Annotated[DatasetStore, Depends(get_datasets)]
MetricsDep = Annotated[ServiceMetrics, Depends(get_metrics)]
JobId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="The job's id.")]
StyleName = Annotated[str, Path(min_length=1, max_length=64, description="Style name or alias.")]
Authenticated = Depends(require_api_key)
