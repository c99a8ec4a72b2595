"""The FastAPI app: ``create_app(settings, models=..., embedder=...)``.

The lifespan takes the data directory (one owner per directory, unless ``dialogforge serve``
took it already) and builds the expensive things once: the Engine (the embedded llama.cpp model, started
once and shared by every request and job, unless a base URL is set or models are injected), the
SQLite job store and the JobManager, which resumes unfinished jobs. On shutdown the manager stops
taking work, lets in-flight samples finish (bounded by ``shutdown_grace_s``), persists, and marks
unfinished jobs ``interrupted`` so the next start resumes them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

from agents.embeddings import Embedder
from agents.llm import RoleModels, check_reachable
from graph.datasets.store import DatasetStore
from service.chatbots import mount_chat, start_chat, stop_chat
from service.engine import Engine
from service.http.errors import install_error_handlers
from service.http.metrics import ServiceMetrics
from service.http.middleware import BodySizeLimitMiddleware, RequestContextMiddleware
from service.http.openapi import install_openapi
from service.http.routers import datasets, health, job_outputs, jobs, judge, samples, styles
from service.http.routers.review import mount_review
from service.jobs.manager import JobManager
from service.jobs.models import JobUpdate, Limits
from service.jobs.owner import DataDirOwner
from service.jobs.store import JobStore
from service.jobs.styles import StyleRegistry
from service.settings import Settings

logger = logging.getLogger(__name__)

API_DESCRIPTION = (
    "Generate fine-tuning samples on demand and run durable dataset jobs. Endpoints under /v1 need "
    "`Authorization: Bearer <key>` when DIALOGFORGE_API_KEYS is set."
)


def limits_of(settings: Settings) -> Limits:
    """Read the service bounds from settings."""
    return Limits(
        max_job_n=settings.max_job_n,
        max_concurrent_jobs=settings.max_concurrent_jobs,
        sample_timeout_s=settings.sample_timeout_s,
        shutdown_grace_s=settings.shutdown_grace_s,
        max_event_subscribers=settings.max_event_subscribers,
    )


def build_engine(settings: Settings, models: RoleModels | None, embedder: Embedder | None) -> Engine:
    """Start the shared engine; injected models/embedder (tests) replace the real ones."""
    return Engine.start(settings, models=models, embedder=embedder)


async def _warn_if_unreachable(engine: Engine, settings: Settings) -> None:
    if engine.is_embedded or not settings.llm_base_url:
        return
    try:
        await check_reachable(engine.base_url, settings.llm_config().api_key, timeout=5)
    except Exception as exc:
        logger.warning("LLM endpoint check failed (jobs will retry): %s", str(exc).splitlines()[0])


def create_app(
    settings: Settings | None = None,
    *,
    models: RoleModels | None = None,
    embedder: Embedder | None = None,
    owner: DataDirOwner | None = None,
) -> FastAPI:
    """Build the app; nothing expensive happens until its lifespan starts.

    ``owner``: the data directory's lock, already taken (``dialogforge serve`` takes it before
    the server starts, so a second server is one line); without it the lifespan takes it.
    """
    settings = settings or Settings()
    metrics = ServiceMetrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own = owner or DataDirOwner(settings.data_dir, "the dialogforge HTTP service").acquire()
        engine = await asyncio.to_thread(build_engine, settings, models, embedder)
        store: JobStore | None = None
        manager: JobManager | None = None
        try:
            await _warn_if_unreachable(engine, settings)
            store = await asyncio.to_thread(JobStore, settings.data_dir)
            registry = await asyncio.to_thread(StyleRegistry, store)
            manager = JobManager(
                engine,
                store,
                registry,
                limits_of(settings),
                observer=metrics,
                owner_id=own.owner_id,
                lease_s=settings.job_lease_s,
            )
            metrics.track_running(lambda: manager.running if manager else 0)
            metrics.track_admission(engine.models.admission)
            metrics.prices = engine.prices
            app.state.engine, app.state.manager = engine, manager
            resumed = await manager.resume()
            if resumed:
                logger.info("resumed %d unfinished jobs", len(resumed))
            await start_chat(app, manager, settings)
            yield
        finally:
            await stop_chat(app)  # before the manager: followers must not see jobs end "interrupted"
            if manager is not None:
                await manager.shutdown()
                manager.styles.close()
            if store is not None:
                store.close()
            await asyncio.to_thread(engine.stop)
            if owner is None:
                own.release()

    # FastAPIOffline serves the Swagger/ReDoc assets from the package: /docs works with no internet.
    app = FastAPIOffline(title="dialogforge", version="0.1.0", description=API_DESCRIPTION, lifespan=lifespan)
    app.state.settings = settings
    app.state.metrics = metrics
    app.state.api_keys = [key.encode() for key in settings.api_key_list()]
    app.state.injected_models = models is not None
    install_error_handlers(app)
    install_openapi(app, stream_models=[JobUpdate])
    app.state.datasets = DatasetStore(settings.data_dir)
    for module in (health, samples, jobs, job_outputs, judge, styles, datasets):
        app.include_router(module.router)
    mount_chat(app, settings)  # each configured chat platform's events route (docs/slack.md, ...)
    mount_review(app, settings)  # the review page (/review) and its status (/v1/reviews)
    app.add_middleware(
        BodySizeLimitMiddleware,
        max_bytes=settings.max_request_bytes,
        uploads={datasets.UPLOAD_PATH: settings.max_upload_bytes},
    )
    app.add_middleware(RequestContextMiddleware, metrics=metrics)
    return app
