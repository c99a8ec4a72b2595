"""Mount the Slack bot on the FastAPI app at ``POST /slack/events`` when Slack is configured."""

from __future__ import annotations

import logging

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler

from service.chatops.dispatch import ChatDispatcher
from service.settings import Settings
from service.slack.bot import SlackBot

logger = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
TIMESTAMP_HEADER = "x-slack-request-timestamp"
INVALID_REQUEST = {"error": "invalid request"}


def timestamp_is_integer(values: list[str]) -> bool:
    """Whether Slack's timestamp header is absent or an integer.

    slack_sdk's verifier calls ``int()`` on it before checking the signature, so any other value
    (``abc``, ``1.5``, 5,000 digits) would raise and answer 500, with an error logged for each such
    unauthenticated request. Absent, bolt itself refuses the request (401).
    """
    try:
        for value in values[:1]:  # bolt reads the first value
            int(value)
    except ValueError:
        return False
    return True


def slack_router(bot: SlackBot) -> APIRouter:
    """Return the router that hands Slack's requests to bolt (left out of the OpenAPI schema)."""
    handler = AsyncSlackRequestHandler(bot.app)
    router = APIRouter(tags=["slack"])

    @router.post(EVENTS_PATH, include_in_schema=False)
    async def slack_events(request: Request) -> Response:
        """Verify, acknowledge and dispatch one Slack request (slash command or event)."""
        if not timestamp_is_integer(request.headers.getlist(TIMESTAMP_HEADER)):
            return JSONResponse(INVALID_REQUEST, status_code=401)  # as bolt answers a bad signature, quietly
        return await handler.handle(request)

    return router


def mount_slack(app: FastAPI, settings: Settings, dispatcher: ChatDispatcher) -> SlackBot | None:
    """Add ``POST /slack/events`` to the app when the bot token and signing secret are set.

    Args:
        app: The FastAPI app.
        settings: The service settings (``SLACK_BOT_TOKEN``, ``SLACK_SIGNING_SECRET``, ...).
        dispatcher: The chat core that runs the requests.

    Returns:
        The bot (registered with the dispatcher), or None when Slack is not configured; either
        way one line is logged.
    """
    if not settings.slack_enabled:
        logger.info("Slack bot off: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET to turn it on")
        return None
    bot = SlackBot(settings, dispatcher)
    app.include_router(slack_router(bot))
    dispatcher.add_platform(bot)
    where = "a custom Slack API URL" if settings.slack_api_url else "slack.com"
    logger.info("Slack bot on: POST %s (Web API at %s)", EVENTS_PATH, where)
    return bot
