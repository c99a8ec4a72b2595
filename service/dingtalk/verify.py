"""Check a DingTalk robot callback before anything else: the HMAC-SHA256 timestamp signature.

DingTalk sends the headers ``timestamp`` (milliseconds) and ``sign`` =
``base64(HMAC-SHA256(key=app_secret, message=timestamp + newline + app_secret))``. The signature
covers only the timestamp, so a bounded clock skew (``max_skew_s``; DingTalk itself allows
one hour) is what stops an old request from being replayed, and each ``msgId`` runs once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any


class DingTalkAuthError(Exception):
    """The request is not from DingTalk (or is stale); the message names what was wrong, no secret."""


def signature(timestamp: str, app_secret: str) -> str:
    """Return DingTalk's signature of a timestamp."""
    digest = hmac.new(app_secret.encode(), f"{timestamp}\n{app_secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify_callback(
    headers: Mapping[str, str], body: bytes, *, app_secret: str, max_skew_s: float = 300.0, now: float | None = None
) -> dict[str, Any]:
    """Return the callback's JSON payload once its signature and timestamp are checked.

    Raises:
        DingTalkAuthError: A missing or wrong signature, a stale timestamp, a body that is not a JSON object.
    """
    timestamp, sign = headers.get("timestamp", ""), headers.get("sign", "")
    if not timestamp or not sign:
        raise DingTalkAuthError("the timestamp or sign header is missing")
    if not timestamp.isdigit():
        raise DingTalkAuthError("the timestamp is not a number of milliseconds")
    current = time.time() if now is None else now
    if abs(current - int(timestamp) / 1000) > max_skew_s:
        raise DingTalkAuthError(f"the timestamp is more than {max_skew_s:.0f} s away from now")
    if not hmac.compare_digest(signature(timestamp, app_secret), sign):
        raise DingTalkAuthError("the signature does not match")
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise DingTalkAuthError("the body is not JSON") from None
    if not isinstance(payload, dict):
        raise DingTalkAuthError("the body is not a JSON object")
    return payload
