"""The chat layer's errors: each message is for the person in the chat, in plain words."""

from __future__ import annotations


class ChatOpsError(Exception):
    """A request the bot refuses or cannot serve; the message is for the user, in plain words."""


class ChatOutputError(Exception):
    """The chat platform refused a call; the message is safe to show (no secrets)."""


class UploadUnsupported(ChatOutputError):
    """This platform cannot take this file here; the chat gives a download link instead."""
