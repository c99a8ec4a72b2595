"""Check a Feishu / Lark event request before anything else: signature, freshness, token; decrypt it.

Feishu signs an event request (when an encrypt key is set) with ``X-Lark-Signature`` =
``sha256(timestamp + nonce + encrypt_key + body)`` in hex, and puts the app's verification
token in the payload (``header.token`` for v2 events, ``token`` for the URL-verification
challenge and v1 events). The body is ``{"encrypt": base64(iv + AES-256-CBC(plaintext))}``
with the key ``sha256(encrypt_key)`` (lark-oapi's ``AESCipher`` decrypts it).

lark-oapi's ``EventDispatcherHandler`` checks the token and the signature too, but answers a
failure with HTTP 500 (so Feishu retries it), raises on a missing signature header, and does
not bound the timestamp; this module answers every such request 401, before the SDK or any job
sees it, and refuses timestamps older or newer than ``max_skew_s`` (replays).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lark_oapi.core.utils import AESCipher

URL_VERIFICATION = "url_verification"


class FeishuAuthError(Exception):
    """The request is not from Feishu (or is stale); the message names what was wrong, no secret."""


@dataclass(frozen=True)
class FeishuEvent:
    """A verified event: its decrypted payload, type and delivery id."""

    payload: dict[str, Any]
    type: str
    event_id: str


def _decrypt(body: bytes, encrypt_key: str | None) -> dict[str, Any]:
    try:
        outer = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise FeishuAuthError("the body is not JSON") from None
    if not isinstance(outer, dict):
        raise FeishuAuthError("the body is not a JSON object")
    if not encrypt_key:
        return outer
    encrypted = outer.get("encrypt")
    if not isinstance(encrypted, str) or not encrypted:
        raise FeishuAuthError("the event is not encrypted but an encrypt key is set")
    try:
        inner = json.loads(AESCipher(encrypt_key).decrypt_str(encrypted))
    except Exception:
        raise FeishuAuthError("the event cannot be decrypted with the encrypt key") from None
    if not isinstance(inner, dict):
        raise FeishuAuthError("the decrypted event is not a JSON object")
    return inner


def _check_signature(headers: Mapping[str, str], body: bytes, encrypt_key: str, max_skew_s: float, now: float) -> None:
    timestamp = headers.get("x-lark-request-timestamp", "")
    nonce = headers.get("x-lark-request-nonce", "")
    signature = headers.get("x-lark-signature", "")
    if not (timestamp and nonce and signature):
        raise FeishuAuthError("the signature headers are missing")
    try:
        sent = float(timestamp)
    except ValueError:
        raise FeishuAuthError("the timestamp is not a number") from None
    if abs(now - sent) > max_skew_s:
        raise FeishuAuthError(f"the timestamp is more than {max_skew_s:.0f} s away from now")
    expected = hashlib.sha256((timestamp + nonce + encrypt_key).encode() + body).hexdigest()
    if not hmac.compare_digest(expected, signature):
        raise FeishuAuthError("the signature does not match")


def verify_event(
    headers: Mapping[str, str],
    body: bytes,
    *,
    verification_token: str,
    encrypt_key: str | None,
    max_skew_s: float = 300.0,
    now: float | None = None,
) -> FeishuEvent:
    """Return the verified, decrypted event.

    Args:
        headers: The request headers (lower-case names).
        body: The raw request body.
        verification_token: The app's verification token.
        encrypt_key: The app's encrypt key (None: events are plain JSON and unsigned).
        max_skew_s: The largest distance between the request's timestamp and now.
        now: The current Unix time (tests pass one).

    Raises:
        FeishuAuthError: A missing or wrong signature, a stale timestamp, a wrong token, a body
            that does not decrypt.
    """
    payload = _decrypt(body, encrypt_key)
    found = payload.get("header")
    header: dict[str, Any] = found if isinstance(found, dict) else {}
    kind = str(payload.get("type") or header.get("event_type") or "")
    token = header.get("token") if header else payload.get("token")
    if not isinstance(token, str) or not hmac.compare_digest(token.encode(), verification_token.encode()):
        raise FeishuAuthError("the verification token does not match")
    if kind != URL_VERIFICATION and encrypt_key:  # Feishu does not sign the URL-verification challenge
        _check_signature(headers, body, encrypt_key, max_skew_s, time.time() if now is None else now)
    event_id = str(header.get("event_id") or payload.get("uuid") or "")
    return FeishuEvent(payload, kind, event_id)
