"""Slack as a chat output: one progress message (posted, then updated) and its thread."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from service.chatops.follow import ChatOutputError

logger = logging.getLogger(__name__)


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
    """Post, update, reply and upload in one Slack channel (and thread)."""

    def __init__(self, client: AsyncWebClient, channel: str, thread_ts: str | None = None) -> None:
        """Write into ``channel``; with ``thread_ts`` everything goes in that thread.

        Without ``thread_ts`` the progress message is posted in the channel and becomes the thread.
        """
        self.client, self.channel, self.thread_ts = client, channel, thread_ts
        self.ts: str | None = None

    async def post(self, text: str) -> None:
        """Post the progress message."""
        try:
            response = await self.client.chat_postMessage(channel=self.channel, text=text, thread_ts=self.thread_ts)
        except (SlackClientError, OSError, TimeoutError) as exc:
            raise ChatOutputError(describe_slack_error(exc)) from None
        self.ts = str(response["ts"])
        self.thread_ts = self.thread_ts or self.ts

    async def update(self, text: str) -> None:
        """Replace the progress message's text (chat.update)."""
        if self.ts is None:
            raise ChatOutputError("there is no progress message to update")
        try:
            await self.client.chat_update(channel=self.channel, ts=self.ts, text=text)
        except (SlackClientError, OSError, TimeoutError) as exc:
            raise ChatOutputError(describe_slack_error(exc)) from None

    async def reply(self, text: str) -> None:
        """Post in the thread."""
        try:
            await self.client.chat_postMessage(channel=self.channel, text=text, thread_ts=self.thread_ts)
        except (SlackClientError, OSError, TimeoutError) as exc:
            raise ChatOutputError(describe_slack_error(exc)) from None

    async def upload(self, filename: str, content: bytes, comment: str) -> None:
        """Upload a file into the thread (files_upload_v2: get URL, upload, complete)."""
        try:
            await self.client.files_upload_v2(
                channel=self.channel,
                thread_ts=self.thread_ts,
                filename=filename,
                title=filename,
                content=content,
                initial_comment=comment,
            )
        except (SlackClientError, OSError, TimeoutError) as exc:
            raise ChatOutputError(describe_slack_error(exc)) from None
