"""Slack as a chat output: answers, one progress message (posted, then updated) and its thread.

Slack shows at most 40,000 characters of a message and recommends 4,000, so longer texts are
split into several messages (:data:`MAX_TEXT_CHARS`); the progress message is shortened.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from service.chatops.errors import ChatOutputError
from service.chatops.store import Anchor
from service.chatops.texts import shorten, split_text

logger = logging.getLogger(__name__)

MAX_TEXT_CHARS = 3900
_FAILURES = (SlackClientError, OSError, TimeoutError)


def describe_slack_error(exc: Exception) -> str:
    """Return a short, secret-free description of a failed Slack call."""
    if isinstance(exc, SlackApiError):
        response = exc.response
        error = response.get("error") if isinstance(response.data, dict) else None
        return f"Slack answered {error or f'HTTP {response.status_code}'}"
    if isinstance(exc, SlackClientError):
        text = str(exc)
        if text.startswith("Failed to upload a file"):
            status = text.split("status: ", 1)[-1].split(",", 1)[0]
            return f"the file upload was refused (HTTP {status})"
        return "the Slack request failed"
    return f"the Slack request failed ({type(exc).__name__})"


class SlackOutput:
    """Answer, post, update, reply and upload in one Slack channel (and thread).

    Answers go in the thread (a mention's answers, or a restored follower's).
    """

    def __init__(self, client: AsyncWebClient, channel: str, thread_ts: str | None = None) -> None:
        """Write into ``channel``; with ``thread_ts`` everything goes in that thread.

        Without ``thread_ts`` the progress message is posted in the channel and becomes the thread.
        """
        self.client, self.channel, self.thread_ts = client, channel, thread_ts
        self.ts: str | None = None

    @classmethod
    def restore(cls, client: AsyncWebClient, anchor: Anchor) -> SlackOutput:
        """Rebuild the output an :meth:`anchor` was taken from."""
        output = cls(client, anchor["channel"], anchor.get("thread_ts") or None)
        output.ts = anchor.get("ts") or None
        return output

    def anchor(self) -> Anchor:
        """Return the channel, the thread and the progress message's ts."""
        return {"channel": self.channel, "thread_ts": self.thread_ts or "", "ts": self.ts or ""}

    async def _call(self, method: str, **params: Any) -> Any:
        try:
            return await getattr(self.client, method)(**params)
        except _FAILURES as exc:
            raise ChatOutputError(describe_slack_error(exc)) from None

    async def answer(self, text: str, *, private: bool = False) -> None:
        """Answer in the thread (a mention cannot be answered privately)."""
        await self.reply(text)

    async def post(self, text: str) -> None:
        """Post the progress message."""
        response = await self._call(
            "chat_postMessage", channel=self.channel, text=shorten(text, MAX_TEXT_CHARS), thread_ts=self.thread_ts
        )
        self.ts = str(response["ts"])
        self.thread_ts = self.thread_ts or self.ts

    async def update(self, text: str) -> None:
        """Replace the progress message's text (chat.update)."""
        if self.ts is None:
            raise ChatOutputError("there is no progress message to update")
        await self._call("chat_update", channel=self.channel, ts=self.ts, text=shorten(text, MAX_TEXT_CHARS))

    async def reply(self, text: str) -> None:
        """Post in the thread (in the channel while there is none), split when long."""
        for piece in split_text(text, MAX_TEXT_CHARS):
            await self._call("chat_postMessage", channel=self.channel, text=piece, thread_ts=self.thread_ts)

    async def upload(self, filename: str, content: bytes, comment: str) -> None:
        """Upload a file into the thread (files_upload_v2: get URL, upload, complete)."""
        await self._call(
            "files_upload_v2",
            channel=self.channel,
            thread_ts=self.thread_ts,
            filename=filename,
            title=filename,
            content=content,
            initial_comment=comment,
        )


class SlashOutput(SlackOutput):
    """The output of a ``/dataset`` command: answers are the command's ack, then ``response_url`` replies.

    Private answers are ephemeral (only the person who typed the command sees them).
    """

    def __init__(self, client: AsyncWebClient, channel: str, ack: Any, respond: Any) -> None:
        """Answer through bolt's ``ack`` (first) and ``respond`` (later); post in ``channel``."""
        super().__init__(client, channel)
        self._ack, self._respond = ack, respond
        self.acked = False

    async def answer(self, text: str, *, private: bool = False) -> None:
        """Acknowledge the command with the answer (within Slack's 3 seconds), or respond later."""
        response_type = "ephemeral" if private else "in_channel"
        pieces = split_text(text, MAX_TEXT_CHARS)
        try:
            if not self.acked:
                self.acked = True
                await self._ack(response_type=response_type, text=pieces.pop(0))
            for piece in pieces:
                await self._respond(text=piece, response_type=response_type, replace_original=False)
        except Exception as exc:  # bolt's ack/respond raise aiohttp's and slack_sdk's errors alike
            raise ChatOutputError(describe_slack_error(exc)) from None

    async def finish(self) -> None:
        """Acknowledge the command if nothing answered it."""
        if not self.acked:
            self.acked = True
            await self._ack()
