"""DingTalk as a chat output: markdown messages, one StandardCard progress card updated in place, links.

What a DingTalk robot allows, and what this does with it:

- text: ``sampleMarkdown`` messages to the group (or the person), through the robot OpenAPI
  rather than the callback's ``sessionWebhook``, which expires after about 90 minutes (a job
  can run longer, and a restarted server must still be able to write); split at
  :data:`MAX_TEXT_CHARS`;
- progress: an interactive ``StandardCard`` whose ``cardBizId`` we choose, updated with
  ``UpdateRobotInteractiveCard`` (no thread: messages follow the card in the conversation);
- no private answers to a group message: everyone in the group sees the answers;
- files: a robot sends a file only as ``sampleFile`` with a media id from the old media upload
  (at most 20 MB, and only doc/docx/xls/xlsx/ppt/pptx/pdf/zip/rar), which a ``.jsonl`` data set
  is not; so the data set is delivered as the service's short-lived download link
  (:class:`~service.chatops.errors.UploadUnsupported`).
"""

from __future__ import annotations

import uuid
from typing import Any

from service.chatops.errors import ChatOutputError, UploadUnsupported
from service.chatops.store import Anchor
from service.chatops.texts import shorten, split_text
from service.dingtalk.api import Conversation, DingTalkApi

MAX_TEXT_CHARS = 3000
MAX_CARD_CHARS = 3000
TITLE = "dialogforge"


def card_data(text: str) -> dict[str, Any]:
    """Return a ``StandardCard`` showing the text as markdown."""
    return {
        "config": {"autoLayout": True, "enableForward": True},
        "header": {"title": {"type": "text", "text": TITLE}},
        "contents": [{"type": "markdown", "text": shorten(text, MAX_CARD_CHARS), "id": "progress"}],
    }


class DingTalkOutput:
    """Write into one DingTalk conversation: answers, one progress card, links and the summary."""

    def __init__(self, api: DingTalkApi, conversation: Conversation, card_biz_id: str | None = None) -> None:
        """Write into ``conversation``; ``card_biz_id`` names a progress card already sent."""
        self.api, self.conversation, self.card_biz_id = api, conversation, card_biz_id

    @classmethod
    def restore(cls, api: DingTalkApi, anchor: Anchor) -> DingTalkOutput:
        """Rebuild the output an :meth:`anchor` was taken from."""
        conversation = Conversation(anchor["conversation_id"], anchor["conversation_type"], anchor.get("staff_id", ""))
        return cls(api, conversation, anchor.get("card_biz_id") or None)

    def anchor(self) -> Anchor:
        """Return the conversation and the progress card's id."""
        c = self.conversation
        return {
            "conversation_id": c.id,
            "conversation_type": c.type,
            "staff_id": c.staff_id,
            "card_biz_id": self.card_biz_id or "",
        }

    async def answer(self, text: str, *, private: bool = False) -> None:
        """Answer in the conversation (a group sees it: robots cannot answer one member privately)."""
        await self.reply(text)

    async def post(self, text: str) -> None:
        """Send the progress card."""
        card_biz_id = f"dialogforge-{uuid.uuid4().hex}"
        await self.api.send_card(self.conversation, card_biz_id, card_data(text))
        self.card_biz_id = card_biz_id

    async def update(self, text: str) -> None:
        """Update the progress card in place."""
        if self.card_biz_id is None:
            raise ChatOutputError("there is no progress card to update")
        await self.api.update_card(self.card_biz_id, card_data(text))

    async def reply(self, text: str) -> None:
        """Send markdown messages to the conversation (split when long)."""
        for piece in split_text(text, MAX_TEXT_CHARS):
            await self.api.send_markdown(self.conversation, TITLE, piece)

    async def upload(self, filename: str, content: bytes, comment: str) -> None:
        """Refuse: a DingTalk robot cannot send a JSONL file (the chat core sends the download link)."""
        raise UploadUnsupported("DingTalk robots cannot send .jsonl files")
