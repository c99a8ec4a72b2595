"""Mount the DingTalk robot on the FastAPI app at ``POST /dingtalk/events`` when it is configured."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse

from service.chatops.dispatch import ChatDispatcher
from service.dingtalk.verify import DingTalkAuthError
from service.http.errors import error_json
from service.settings import Settings

if TYPE_CHECKING:
    from service.dingtalk.bot import DingTalkBot

logger = logging.getLogger(__name__)

EVENTS_PATH = "/dingtalk/events"


def dingtalk_router(bot: DingTalkBot) -> APIRouter:
    """Return the router of the robot's message callback (left out of the OpenAPI schema)."""
    router = APIRouter(tags=["dingtalk"])

    @router.post(EVENTS_PATH, include_in_schema=False)
    async def dingtalk_events(request: Request) -> JSONResponse:
        """Verify (401 otherwise), dedupe and dispatch one robot message; answer at once."""
        headers = {name.lower(): value for name, value in request.headers.items()}
        try:
            payload = bot.verify(headers, await request.body())
        except DingTalkAuthError as exc:
            logger.warning("dingtalk: refused a callback: %s", exc)
            return error_json(401, "unauthorized", f"not a valid DingTalk callback: {exc}")
        await bot.handle(payload)
        return JSONResponse({})

    return router


def mount_dingtalk(app: FastAPI, settings: Settings, dispatcher: ChatDispatcher) -> DingTalkBot | None:
    """Add ``POST /dingtalk/events`` when the app key and app secret are set.

    Returns:
        The bot (registered with the dispatcher), or None; either way one line is logged.
    """
    if not settings.dingtalk_enabled:
        logger.info("DingTalk bot off: set DINGTALK_APP_KEY and DINGTALK_APP_SECRET to turn it on")
        return None
    from service.dingtalk.bot import DingTalkBot  # the SDK is imported only when the robot is on

    bot = DingTalkBot(settings, dispatcher)
    app.include_router(dingtalk_router(bot))
    dispatcher.add_platform(bot)
    logger.info("DingTalk bot on: POST %s, API at %s", EVENTS_PATH, settings.dingtalk_api_url)
    return bot
