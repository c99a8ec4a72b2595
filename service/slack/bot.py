"""The Slack adapter: ``/dataset`` and ``@mention`` listeners on slack-bolt's AsyncApp.

Requests are verified by bolt (signature and timestamp: 401 otherwise), retried deliveries are
dropped by the dispatcher (``first_delivery``: in memory and across restarts), and everything else (parsing, answers,
jobs, following) is the chat core's: a listener only turns the Slack event into a
``ChatRequest`` and a ``ChatOutput``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from service.chatops.dispatch import ChatDispatcher, ChatRequest
from service.chatops.service import ChatContext
from service.chatops.store import Anchor
from service.settings import Settings
from service.slack.output import SlackOutput, SlashOutput

logger = logging.getLogger(__name__)

PLATFORM = "slack"
SLASH_COMMAND = "/dataset"
MENTION_PREFIX = "@dialogforge"
RATE_LIMIT_RETRIES = 3
_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")


def build_client(settings: Settings) -> AsyncWebClient:
    """Return the Web API client: the bot token, ``slack_api_url`` when set, 429 and connection retries."""
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    base_url = (settings.slack_api_url or AsyncWebClient.BASE_URL).rstrip("/") + "/"
    return AsyncWebClient(
        token=token,
        base_url=base_url,
        timeout=30,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(),
            AsyncRateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
        ],
    )


def delivery_id(body: dict[str, Any]) -> str | None:
    """Return a request's delivery id: the event id of an event, the trigger id of a slash command."""
    key = body.get("event_id") or body.get("trigger_id")
    return str(key) if key else None


def mention_text(text: str) -> str:
    """Return a mention's text without the ``<@U123>`` user mentions."""
    return _MENTION.sub(" ", text).strip()


class SlackBot:
    """The bolt app with its two listeners; the chat platform ``slack`` for the dispatcher."""

    name = PLATFORM

    def __init__(self, settings: Settings, dispatcher: ChatDispatcher, client: AsyncWebClient | None = None) -> None:
        """Build the bolt app (no network call until the first request)."""
        self.dispatcher = dispatcher
        self.progress_interval_s = settings.slack_progress_interval_s
        self.client = client or build_client(settings)
        secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
        self.app = AsyncApp(client=self.client, signing_secret=secret, logger=logger)
        self.app.middleware(self._dedupe)
        self.app.command(SLASH_COMMAND)(self._on_command)
        self.app.event("app_mention")(self._on_mention)

    def restore(self, anchor: Anchor) -> SlackOutput:
        """Rebuild a follower's output after a restart."""
        return SlackOutput.restore(self.client, anchor)

    async def close(self) -> None:
        """Close the Web API client's HTTP session (at shutdown)."""
        session = getattr(self.client, "session", None)
        if session is not None and not session.closed:
            await session.close()

    async def _dedupe(
        self, req: AsyncBoltRequest, body: dict[str, Any], next: Callable[[], Awaitable[None]]
    ) -> BoltResponse | None:
        """Acknowledge a delivery seen before (a Slack retry) without running it again."""
        key = delivery_id(body)
        if key and not await self.dispatcher.first_delivery(PLATFORM, key):
            retry = (req.headers.get("x-slack-retry-num") or ["?"])[0]
            logger.info("slack: duplicate delivery %s (retry %s) acknowledged, not run again", key, retry)
            return BoltResponse(status=200, body="")
        await next()
        return None

    async def _on_command(self, ack: Any, command: dict[str, Any], respond: Any) -> None:
        """Handle ``/dataset ...``: the first answer is the ack (within Slack's 3 seconds)."""
        channel = str(command.get("channel_id", ""))
        ctx = ChatContext(PLATFORM, str(command.get("team_id", "")), str(command.get("user_id", "")), channel)
        output = SlashOutput(self.client, channel, ack, respond)
        try:
            request = ChatRequest(ctx, str(command.get("text", "")), SLASH_COMMAND, delivery_id(command))
            await self.dispatcher.handle(request, output)
        finally:
            await output.finish()

    async def _on_mention(self, event: dict[str, Any], body: dict[str, Any]) -> None:
        """Handle ``@dialogforge ...`` with the same words; answers go in the mention's thread."""
        channel = str(event.get("channel", ""))
        thread = str(event.get("thread_ts") or event.get("ts") or "") or None
        team = str(body.get("team_id") or event.get("team") or "")
        ctx = ChatContext(PLATFORM, team, str(event.get("user", "")), channel)
        request = ChatRequest(ctx, mention_text(str(event.get("text", ""))), MENTION_PREFIX, delivery_id(body))
        await self.dispatcher.handle(request, SlackOutput(self.client, channel, thread))
