"""The Feishu / Lark bot: verified events in, ``im.message.receive_v1`` to the chat core.

A request is checked first (``service.feishu.verify``: 401 on any problem, and no job), then
a retried delivery (same ``event_id``) is acknowledged without running it again, then
lark-oapi's ``EventDispatcherHandler`` answers the URL-verification challenge or parses the
message event into its typed model and hands it to :meth:`FeishuBot._on_message`, which starts
the work in the background: Feishu wants an answer within 3 seconds and retries otherwise.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Coroutine, Mapping
from typing import Any

import lark_oapi as lark
from lark_oapi.api.im.v1 import P2ImMessageReceiveV1

from service.chatops.dispatch import ChatDispatcher, ChatRequest
from service.chatops.follow import answer_safely
from service.chatops.service import ChatContext
from service.chatops.store import Anchor
from service.feishu.output import FeishuOutput
from service.feishu.verify import URL_VERIFICATION, FeishuEvent, verify_event
from service.settings import Settings

logger = logging.getLogger(__name__)

PLATFORM = "feishu"
MENTION_PREFIX = "@dialogforge"
MESSAGE_EVENT = "im.message.receive_v1"
_MENTION_KEY = re.compile(r"@_user_\d+")


def build_client(settings: Settings) -> lark.Client:
    """Return lark-oapi's client for the app (``DIALOGFORGE_FEISHU_API_URL``: Feishu, Lark, or a mock)."""
    secret = settings.feishu_app_secret.get_secret_value() if settings.feishu_app_secret else ""
    return (
        lark.Client.builder()
        .app_id(settings.feishu_app_id or "")
        .app_secret(secret)
        .domain(settings.feishu_api_url.rstrip("/"))
        .timeout(30)
        .log_level(lark.LogLevel.WARNING)
        .build()
    )


def message_text(content: str, mention_keys: list[str]) -> str:
    """Return a text message's words without the ``@_user_1`` mention placeholders."""
    try:
        text = json.loads(content).get("text", "")
    except (ValueError, AttributeError):
        return ""
    for key in mention_keys:
        text = text.replace(key, " ")
    return _MENTION_KEY.sub(" ", str(text)).strip()


class FeishuBot:
    """Verify, dedupe and dispatch Feishu events; the chat platform ``feishu`` for the dispatcher."""

    name = PLATFORM

    def __init__(self, settings: Settings, dispatcher: ChatDispatcher, client: lark.Client | None = None) -> None:
        """Build the SDK's event dispatcher and API client (no network call until the first message)."""
        self.dispatcher = dispatcher
        self.progress_interval_s = settings.feishu_progress_interval_s
        self.max_skew_s = settings.chatops_max_clock_skew_s
        self.verification_token = (
            settings.feishu_verification_token.get_secret_value() if settings.feishu_verification_token else ""
        )
        self.encrypt_key = settings.feishu_encrypt_key.get_secret_value() if settings.feishu_encrypt_key else None
        self.client = client or build_client(settings)
        self.events = (
            lark.EventDispatcherHandler.builder(self.encrypt_key or "", self.verification_token)
            .register_p2_im_message_receive_v1(self._on_message)
            .build()
        )

    def restore(self, anchor: Anchor) -> FeishuOutput:
        """Rebuild a follower's output after a restart."""
        return FeishuOutput.restore(self.client, anchor)

    async def close(self) -> None:
        """Nothing to close: lark-oapi opens a connection per call."""

    def verify(self, headers: Mapping[str, str], body: bytes) -> FeishuEvent:
        """Return the verified event (raises ``FeishuAuthError``)."""
        return verify_event(
            headers,
            body,
            verification_token=self.verification_token,
            encrypt_key=self.encrypt_key,
            max_skew_s=self.max_skew_s,
        )

    async def handle(self, event: FeishuEvent, headers: Mapping[str, str], body: bytes, uri: str) -> tuple[int, bytes]:
        """Answer a verified event: the challenge, a message (started in the background), or 200 for others."""
        if event.type not in (URL_VERIFICATION, MESSAGE_EVENT):
            return 200, b'{"msg":"ignored"}'
        if event.type == MESSAGE_EVENT and not await self.dispatcher.first_delivery(PLATFORM, event.event_id):
            logger.info("feishu: duplicate delivery %s acknowledged, not run again", event.event_id)
            return 200, b'{"msg":"duplicate"}'
        raw = lark.RawRequest()
        raw.uri, raw.body = uri, body
        raw.headers = {
            "X-Lark-Request-Timestamp": headers.get("x-lark-request-timestamp", ""),
            "X-Lark-Request-Nonce": headers.get("x-lark-request-nonce", ""),
            "X-Lark-Signature": headers.get("x-lark-signature", ""),
        }
        answer = self.events.do(raw)  # parses the typed event and calls _on_message (synchronously)
        return int(answer.status_code or 500), bytes(answer.content or b"")

    def _on_message(self, data: P2ImMessageReceiveV1) -> None:
        """Turn a received message into a chat request and run it in the background."""
        event, header = data.event, data.header
        message, sender = event.message, event.sender
        if message is None or sender is None or message.message_id is None:
            return
        mentions = [m.key for m in (message.mentions or []) if m.key]
        if message.chat_type != "p2p" and not mentions:
            return  # a group message that does not mention the bot (with the all-messages scope)
        user = sender.sender_id.open_id if sender.sender_id else ""
        ctx = ChatContext(PLATFORM, (header.tenant_key if header else "") or "", user or "", message.chat_id or "")
        output = FeishuOutput(self.client, message.chat_id or "", message.message_id)
        if message.message_type != "text":
            self._spawn(answer_safely(output, "Send me a text message, e.g. `@dialogforge 帮助`.", private=True))
            return
        text = message_text(message.content or "", mentions)
        delivery = (header.event_id if header else None) or None
        self._spawn(self.dispatcher.handle(ChatRequest(ctx, text, MENTION_PREFIX, delivery), output))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run a request in the dispatcher's bounded task set (refused work is logged)."""
        try:
            self.dispatcher.spawn(work)
        except Exception as exc:
            logger.warning("feishu: request dropped: %s", exc)
