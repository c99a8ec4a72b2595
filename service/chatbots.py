"""Chat bots inside the service: mount each configured platform, run the chat core in the lifespan.

``mount_chat`` (when the app is built) adds each configured platform's route (every adapter listed
in :data:`PLATFORM_MOUNTS`: Slack, Feishu / Lark, DingTalk) and the download-link route; ``start_chat`` (in the
lifespan, once the job manager has resumed its jobs) opens the chat job store, attaches the
chat core and resumes the followers of a previous process; ``stop_chat`` (before the job manager
stops) cancels the followers, which the next start resumes, and closes the platforms' clients.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from fastapi import FastAPI

from graph.datasets.store import DatasetStore
from service.chatops.bounds import Bounds, ChatAdmission
from service.chatops.dispatch import ChatDispatcher, ChatPlatform
from service.chatops.links import DownloadLinks, link_secret
from service.chatops.service import ChatOpsService
from service.chatops.store import ChatJobStore
from service.dingtalk.mount import mount_dingtalk
from service.feishu.mount import mount_feishu
from service.http.routers import chat_downloads
from service.jobs.manager import JobManager
from service.settings import Settings
from service.slack.mount import mount_slack

logger = logging.getLogger(__name__)

Mount = Callable[[FastAPI, Settings, ChatDispatcher], ChatPlatform | None]
PLATFORM_MOUNTS: tuple[Mount, ...] = (mount_slack, mount_feishu, mount_dingtalk)


def mount_chat(app: FastAPI, settings: Settings) -> ChatDispatcher:
    """Mount every configured chat platform (one log line each) and the download-link route."""
    dispatcher = ChatDispatcher()
    for mount in PLATFORM_MOUNTS:
        mount(app, settings, dispatcher)
    if dispatcher.platforms:
        app.include_router(chat_downloads.router)
    app.state.chat = dispatcher
    return dispatcher


def bounds_of(settings: Settings) -> Bounds:
    """Read the chat bounds from settings."""
    return Bounds(
        max_n_per_user=settings.chatops_max_n_per_user,
        max_n_per_channel=settings.chatops_max_n_per_channel,
        max_jobs_per_user=settings.chatops_max_jobs_per_user,
        max_jobs_per_channel=settings.chatops_max_jobs_per_channel,
    )


async def start_chat(app: FastAPI, manager: JobManager, settings: Settings) -> None:
    """Attach the chat core to the running job manager and resume the followers of a previous process."""
    dispatcher: ChatDispatcher = app.state.chat
    if not dispatcher.platforms:
        return
    chat_jobs = await asyncio.to_thread(ChatJobStore, settings.data_dir)
    configured = settings.chatops_link_secret.get_secret_value() if settings.chatops_link_secret else None
    secret = await asyncio.to_thread(link_secret, settings.data_dir, configured)
    links = DownloadLinks(secret, settings.chatops_link_ttl_s, settings.chatops_public_url)
    service = ChatOpsService(
        manager,
        styles=lambda: {pack.name: pack for pack, _ in manager.styles.all()},
        chat_jobs=chat_jobs,
        admission=ChatAdmission(bounds_of(settings), manager.admission),  # beside the job slots
        links=links,
        datasets=DatasetStore(settings.data_dir),
    )
    app.state.chat_links, app.state.chat_jobs = links, chat_jobs
    resumed = await dispatcher.attach(service)
    if resumed:
        logger.info("chat: following %d jobs again after the restart", resumed)


async def stop_chat(app: FastAPI) -> None:
    """Cancel the followers (resumed at the next start), close the platforms' clients and the store."""
    dispatcher: ChatDispatcher | None = getattr(app.state, "chat", None)
    if dispatcher is None:
        return
    await dispatcher.close()
    chat_jobs: ChatJobStore | None = getattr(app.state, "chat_jobs", None)
    if chat_jobs is not None:
        chat_jobs.close()
