"""Feishu / Lark as a chat output: replies to the request, an interactive progress card patched in place, files.

Everything is a reply to the message that asked (``im/v1/messages/{id}/reply``), so it stays in
that conversation: the answer, the progress card (``update_multi`` so the patch shows for
everyone; Feishu patches cards sent within 14 days, at most 5 times a second per message), the
data set (uploaded with ``im/v1/files``, ``file_type=stream``, at most 30 MB and not empty,
then sent as a ``file`` message) and the summary. The card is JSON 1.0 with one markdown
element (a card body is limited to 30 KB: the text is shortened); texts are split at
:data:`MAX_TEXT_CHARS`. Calls go through lark-oapi's client in a worker thread (its token
manager is synchronous) and are retried on 429 (waiting ``x-ogw-ratelimit-reset``) and 5xx.

The delivery's replies (the file message, its comment, the summary) carry a ``uuid`` made from
what they are and where they go, not a random one: Feishu sends at most one message per uuid
within an hour, so a delivery repeated after a restart (the process was killed after a reply
went out but before the follower recorded it) shows once. The file itself may be uploaded again
then (an unused file key on Feishu's side, never shown in the chat).
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import logging
import uuid
from collections.abc import Callable
from typing import Any

import lark_oapi as lark
from lark_oapi.api.im.v1 import (
    CreateFileRequest,
    CreateFileRequestBody,
    PatchMessageRequest,
    PatchMessageRequestBody,
    ReplyMessageRequest,
    ReplyMessageRequestBody,
)

from service.chatops.errors import ChatOutputError, UploadUnsupported
from service.chatops.retry import Retryable, with_retries
from service.chatops.store import Anchor
from service.chatops.texts import shorten, split_text

logger = logging.getLogger(__name__)

MAX_TEXT_CHARS = 8000
MAX_CARD_CHARS = 6000
MAX_FILE_BYTES = 30 * 1024 * 1024
RATE_LIMITED = 99991400


def card(text: str) -> str:
    """Return an interactive card (JSON 1.0) that shows the text as markdown and can be patched for all."""
    body = {
        "config": {"update_multi": True, "wide_screen_mode": True},
        "elements": [{"tag": "markdown", "content": text}],
    }
    return json.dumps(body, ensure_ascii=False)


async def call(client_call: Callable[[Any], Any], build: Callable[[], Any]) -> Any:
    """Run one lark-oapi call in a thread (a fresh ``build()`` request each try); retry 429/5xx.

    Raises:
        ChatOutputError: Feishu refused the call, or still failed after the retries.
    """

    async def once() -> Any:
        try:
            response = await asyncio.to_thread(client_call, build())
        except OSError as exc:
            raise Retryable(f"Feishu could not be reached ({type(exc).__name__})") from None
        if response.success():
            return response
        raw = response.raw
        status = raw.status_code if raw is not None else 0
        if status == 429 or response.code == RATE_LIMITED:
            reset = (raw.headers or {}).get("x-ogw-ratelimit-reset") if raw is not None else None
            raise Retryable("Feishu answered 429 (rate limited)", float(reset) if reset else None)
        if status >= 500:
            raise Retryable(f"Feishu answered HTTP {status}")
        raise ChatOutputError(f"Feishu answered {response.code}: {response.msg}")

    return await with_retries(once)


class FeishuOutput:
    """Reply to one message: answers, one progress card, the file and the summary."""

    def __init__(self, client: lark.Client, chat_id: str, message_id: str, card_id: str | None = None) -> None:
        """Answer the message ``message_id`` in chat ``chat_id``; ``card_id`` is a posted progress card."""
        self.client, self.chat_id, self.message_id, self.card_id = client, chat_id, message_id, card_id

    @classmethod
    def restore(cls, client: lark.Client, anchor: Anchor) -> FeishuOutput:
        """Rebuild the output an :meth:`anchor` was taken from."""
        return cls(client, anchor["chat_id"], anchor["message_id"], anchor.get("card_id") or None)

    def anchor(self) -> Anchor:
        """Return the chat, the request's message and the progress card."""
        return {"chat_id": self.chat_id, "message_id": self.message_id, "card_id": self.card_id or ""}

    async def _reply(self, to: str, msg_type: str, content: str, *, once: str | None = None) -> str:
        """Reply to a message; ``once`` names the reply so Feishu sends it at most once an hour (its ``uuid``)."""
        dedupe = hashlib.sha256(f"{to}|{msg_type}|{once}".encode()).hexdigest()[:40] if once else str(uuid.uuid4())
        body = ReplyMessageRequestBody.builder().msg_type(msg_type).content(content).uuid(dedupe).build()
        request = ReplyMessageRequest.builder().message_id(to).request_body(body).build()
        response = await call(self.client.im.v1.message.reply, lambda: request)
        return str(response.data.message_id)

    async def _text(self, to: str, text: str, *, once: bool = False) -> None:
        for number, piece in enumerate(split_text(text, MAX_TEXT_CHARS)):
            content = json.dumps({"text": piece}, ensure_ascii=False)
            await self._reply(to, "text", content, once=f"{number}|{content}" if once else None)

    async def answer(self, text: str, *, private: bool = False) -> None:
        """Reply to the request (Feishu has no private reply to a message: everyone in the chat sees it)."""
        await self._text(self.message_id, text)

    async def post(self, text: str) -> None:
        """Reply to the request with the progress card."""
        self.card_id = await self._reply(self.message_id, "interactive", card(shorten(text, MAX_CARD_CHARS)))

    async def update(self, text: str) -> None:
        """Patch the progress card in place."""
        if self.card_id is None:
            raise ChatOutputError("there is no progress card to update")
        body = PatchMessageRequestBody.builder().content(card(shorten(text, MAX_CARD_CHARS))).build()
        request = PatchMessageRequest.builder().message_id(self.card_id).request_body(body).build()
        await call(self.client.im.v1.message.patch, lambda: request)

    async def reply(self, text: str) -> None:
        """Reply to the progress card (to the request before there is one); the same text there is sent once."""
        await self._text(self.card_id or self.message_id, text, once=True)

    async def upload(self, filename: str, content: bytes, comment: str) -> None:
        """Upload the file (``im/v1/files``) and reply with it as a file message."""
        if not content or len(content) > MAX_FILE_BYTES:
            raise UploadUnsupported(f"Feishu takes files of 1 byte to 30 MB; this one is {len(content):,} bytes")

        def build() -> CreateFileRequest:  # a fresh stream each try
            body = CreateFileRequestBody.builder().file_type("stream").file_name(filename).file(io.BytesIO(content))
            return CreateFileRequest.builder().request_body(body.build()).build()

        response = await call(self.client.im.v1.file.create, build)
        target = self.card_id or self.message_id
        await self._text(target, comment, once=True)
        await self._reply(target, "file", json.dumps({"file_key": response.data.file_key}), once=f"file|{filename}")
