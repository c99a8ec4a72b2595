"""The DingTalk robot: signed HTTP callbacks in, the chat core's answers out through the OpenAPI.

A callback is checked first (``service.dingtalk.verify``: 401 on any problem, and no job), a
retried delivery (same ``msgId``) is acknowledged without running it again, and the request
runs in the background: DingTalk gets its 200 at once.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from service.chatops.dispatch import ChatDispatcher, ChatRequest
from service.chatops.follow import answer_safely
from service.chatops.service import ChatContext
from service.chatops.store import Anchor
from service.dingtalk.api import Conversation, DingTalkApi
from service.dingtalk.output import DingTalkOutput
from service.dingtalk.verify import verify_callback
from service.settings import Settings

logger = logging.getLogger(__name__)

PLATFORM = "dingtalk"
MENTION_PREFIX = "@dialogforge"


def build_api(settings: Settings) -> DingTalkApi:
    """Return the OpenAPI client of the robot (robot code: ``DINGTALK_ROBOT_CODE``, else the app key)."""
    secret = settings.dingtalk_app_secret.get_secret_value() if settings.dingtalk_app_secret else ""
    key = settings.dingtalk_app_key or ""
    return DingTalkApi(key, secret, settings.dingtalk_robot_code or key, settings.dingtalk_api_url)


class DingTalkBot:
    """Verify, dedupe and dispatch robot callbacks; the chat platform ``dingtalk`` for the dispatcher."""

    name = PLATFORM

    def __init__(self, settings: Settings, dispatcher: ChatDispatcher, api: DingTalkApi | None = None) -> None:
        """Keep the app secret for the signature check and build the API client (no network call yet)."""
        self.dispatcher = dispatcher
        self.progress_interval_s = settings.dingtalk_progress_interval_s
        self.max_skew_s = settings.chatops_max_clock_skew_s
        self._secret = settings.dingtalk_app_secret.get_secret_value() if settings.dingtalk_app_secret else ""
        self.api = api or build_api(settings)

    def restore(self, anchor: Anchor) -> DingTalkOutput:
        """Rebuild a follower's output after a restart."""
        return DingTalkOutput.restore(self.api, anchor)

    async def close(self) -> None:
        """Nothing to close: the SDK opens a connection per call."""

    def verify(self, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
        """Return the verified payload (raises ``DingTalkAuthError``)."""
        return verify_callback(headers, body, app_secret=self._secret, max_skew_s=self.max_skew_s)

    async def handle(self, payload: dict[str, Any]) -> None:
        """Start a verified callback's request in the background (a retried ``msgId`` runs once)."""
        message_id = str(payload.get("msgId") or "")
        if message_id and not await self.dispatcher.first_delivery(PLATFORM, message_id):
            logger.info("dingtalk: duplicate delivery %s acknowledged, not run again", message_id)
            return
        staff = str(payload.get("senderStaffId") or payload.get("senderId") or "")
        conversation = Conversation(
            str(payload.get("conversationId") or ""), str(payload.get("conversationType") or "2"), staff
        )
        team = str(payload.get("chatbotCorpId") or payload.get("senderCorpId") or "")
        ctx = ChatContext(PLATFORM, team, staff, conversation.id)
        output = DingTalkOutput(self.api, conversation)
        text = payload.get("text", {}).get("content", "") if isinstance(payload.get("text"), dict) else ""
        try:
            if payload.get("msgtype") != "text":
                self.dispatcher.spawn(
                    answer_safely(output, "Send me a text message, e.g. `@dialogforge 帮助`.", private=True)
                )
            else:
                request = ChatRequest(ctx, str(text).strip(), MENTION_PREFIX, message_id or None)
                self.dispatcher.spawn(self.dispatcher.handle(request, output))
        except Exception as exc:
            logger.warning("dingtalk: request dropped: %s", exc)
