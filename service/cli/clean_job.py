"""``dialogforge clean`` runs as a ``clean`` job through the job service, the path ``POST /v1/jobs`` takes.

The job (request, status, summary, the version it wrote) is stored in the data directory's job
store like any job; the cleaning itself is the ``clean`` kind's run
(``service.jobs.kinds.clean``). A rule-only chain calls no model, so no embedded model is started
for it: its engine's models point nowhere and are never called.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable

from agents.embedding_cache import CachingEmbedder
from agents.embeddings import make_embedder
from agents.llm import build_role_models
from agents.styles import StylePack
from graph.cleaning.registry import ChainSpec, needs_models
from graph.progress import JobProgress
from service.cli.generate import cli_manager
from service.engine import Engine
from service.jobs.kinds.clean import CleanJobRequest
from service.jobs.manager import JobManager
from service.jobs.models import JobRecord
from service.jobs.owner import DataDirOwner
from service.jobs.store import JobStore
from service.settings import Settings

NO_MODEL_URL = "http://127.0.0.1:9/v1"
"""Where a rule-only cleaning's models point: nothing listens there, and no operator calls them."""
POLL_S = 0.3


def cleaning_engine(settings: Settings, chain: ChainSpec, notify: Callable[[str], None]) -> Engine:
    """Return the engine of a cleaning: the configured models when an operator calls them, else none started."""
    if needs_models(chain):
        return Engine.start(settings, notify=notify)
    config = settings.llm_config()
    embedder = CachingEmbedder(make_embedder(settings.embedder, settings.embedding_endpoint()))
    models = build_role_models(config, config.base_url or NO_MODEL_URL)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return Engine(settings, models, embedder, "(no model: rule operators only)")


def run_clean_job(
    settings: Settings,
    request: CleanJobRequest,
    pack: StylePack | None,
    on_progress: Callable[[JobProgress], None],
    notify: Callable[[str], None],
) -> tuple[JobRecord, bool]:
    """Run one clean job to its end in this process; return it and whether SIGINT/SIGTERM stopped it.

    Raises:
        service.jobs.owner.DataDirInUseError: A server (or another command) owns the data directory.
        graph.datasets.errors.DatasetError / service.jobs.errors.JobServiceError: The request is wrong.
    """
    with DataDirOwner(settings.data_dir, "dialogforge clean") as owner:
        engine = cleaning_engine(settings, request.chain(), notify)
        store = JobStore(settings.data_dir)
        try:
            manager = cli_manager(engine, store, settings, owner.owner_id)
            return asyncio.run(_follow(manager, request, pack, on_progress))
        finally:
            store.close()
            engine.stop()


async def _follow(
    manager: JobManager, request: CleanJobRequest, pack: StylePack | None, on_progress: Callable[[JobProgress], None]
) -> tuple[JobRecord, bool]:
    """Start the job and show its progress until it ends; a signal stops it (nothing is written then)."""
    record = await manager.start(request, pack=pack, origin="cli")
    stopped: list[asyncio.Task[None]] = []
    loop = asyncio.get_running_loop()

    def stop() -> None:
        if not stopped:
            stopped.append(asyncio.ensure_future(manager.shutdown(0.0)))

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)
    try:
        while record.status in ("queued", "running"):
            on_progress(record.progress)
            await asyncio.sleep(POLL_S)
            record = await manager.get(record.id)
        await manager.shutdown()  # the job has ended: let its task finish writing
        if stopped:
            await stopped[0]
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    on_progress(record.progress)
    return await manager.get(record.id), bool(stopped)
