"""Mount the Feishu / Lark bot on the FastAPI app at ``POST /feishu/events`` when it is configured."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from fastapi import APIRouter, FastAPI, Request, Response

from service.chatops.dispatch import ChatDispatcher
from service.http.errors import error_json
from service.settings import Settings

if TYPE_CHECKING:
    from service.feishu.bot import FeishuBot

logger = logging.getLogger(__name__)

EVENTS_PATH = "/feishu/events"


def feishu_router(bot: FeishuBot) -> APIRouter:
    """Return the router of Feishu's event subscription (left out of the OpenAPI schema)."""
    from service.feishu.verify import FeishuAuthError

    router = APIRouter(tags=["feishu"])

    @router.post(EVENTS_PATH, include_in_schema=False, response_model=None)
    async def feishu_events(request: Request) -> Response:
        """Verify (401 otherwise), dedupe and dispatch one Feishu event; answer at once."""
        body = await request.body()
        headers = {name.lower(): value for name, value in request.headers.items()}
        try:
            event = bot.verify(headers, body)
        except FeishuAuthError as exc:
            logger.warning("feishu: refused an event: %s", exc)
            return error_json(401, "unauthorized", f"not a valid Feishu event: {exc}")
        status, content = await bot.handle(event, headers, body, str(request.url.path))
        return Response(content, status_code=status, media_type="application/json")

    return router


def mount_feishu(app: FastAPI, settings: Settings, dispatcher: ChatDispatcher) -> FeishuBot | None:
    """Add ``POST /feishu/events`` when the app id, app secret and verification token are set.

    Returns:
        The bot (registered with the dispatcher), or None; either way one line is logged.
    """
    if not settings.feishu_enabled:
        logger.info(
            "Feishu bot off: set FEISHU_APP_ID, FEISHU_APP_SECRET and FEISHU_VERIFICATION_TOKEN "
            "(and FEISHU_ENCRYPT_KEY) to turn it on"
        )
        return None
    from service.feishu.bot import FeishuBot  # lark-oapi takes seconds to import: only when the bot is on

    bot = FeishuBot(settings, dispatcher)
    app.include_router(feishu_router(bot))
    dispatcher.add_platform(bot)
    encrypted = (
        "encrypted and signed events" if settings.feishu_encrypt_key else "plain events (set FEISHU_ENCRYPT_KEY)"
    )
    logger.info("Feishu bot on: POST %s, %s, API at %s", EVENTS_PATH, encrypted, settings.feishu_api_url)
    return bot
