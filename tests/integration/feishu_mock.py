"""A mock of Feishu's open API on loopback: tenant token, message reply and patch, file upload.

Checks the bearer token on every call; records uploads; answers failures queued by
``fail_next`` (e.g. 429 with ``x-ogw-ratelimit-reset``, or 502). Also builds signed (and
encrypted) event requests the way Feishu sends them.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import os
import time
import uuid
from typing import Any

from aiohttp import web
from Crypto.Cipher import AES

from tests.integration.platform_mock import PlatformMock

APP_ID = "cli_test_app"
APP_SECRET = "feishu-app-secret-0123"
VERIFICATION_TOKEN = "feishu-verification-token"
ENCRYPT_KEY = "feishu-encrypt-key-xyz"
TENANT_TOKEN = "t-tenant-token-abc"
TENANT = "tenant-1"


class FeishuMock(PlatformMock):
    """Feishu's API: every message the bot sent, and the files it uploaded."""

    def __init__(self) -> None:
        super().__init__()
        self.uploads: dict[str, bytes] = {}
        self.by_uuid: dict[str, dict[str, Any]] = {}
        self.deduplicated = 0
        self._ids = itertools.count(1)

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/open-apis/auth/v3/tenant_access_token/internal", self._token)
        app.router.add_post("/open-apis/im/v1/messages/{message_id}/reply", self._reply)
        app.router.add_patch("/open-apis/im/v1/messages/{message_id}", self._patch)
        app.router.add_post("/open-apis/im/v1/files", self._file)

    def texts(self) -> list[str]:
        """Return the text of every text message and card the bot sent, in order (cards: their markdown)."""
        out = []
        for call in [c for c in self.calls if c.method in ("reply", "patch") and c.status == 200]:
            content = json.loads(call.params.get("content", "{}"))
            out.append(content.get("text") or content.get("elements", [{}])[0].get("content", ""))
        return out

    async def _token(self, request: web.Request) -> web.Response:
        body = await request.json()
        if (body.get("app_id"), body.get("app_secret")) != (APP_ID, APP_SECRET):
            return web.json_response({"code": 10014, "msg": "app secret invalid"})
        return self.record(
            "token", {"app_id": body.get("app_id")}, {"code": 0, "tenant_access_token": TENANT_TOKEN, "expire": 7200}
        )

    def _authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bearer {TENANT_TOKEN}"

    async def _reply(self, request: web.Request) -> web.Response:
        params = {**(await request.json()), "to": request.match_info["message_id"]}
        if not self._authorized(request):
            return web.json_response({"code": 99991663, "msg": "invalid token"}, status=400)
        failure = self.injected("reply", params)
        if failure is not None:
            return failure
        first = self.by_uuid.get(params.get("uuid") or "")
        if first is not None:  # Feishu: one message per uuid within an hour; the copy gets the first one's answer
            self.deduplicated += 1
            return web.json_response(first)
        answer = {"code": 0, "msg": "success", "data": {"message_id": f"om_bot_{next(self._ids)}"}}
        if params.get("uuid"):
            self.by_uuid[params["uuid"]] = answer
        return self.record("reply", params, answer)

    async def _patch(self, request: web.Request) -> web.Response:
        params = {**(await request.json()), "message_id": request.match_info["message_id"]}
        if not self._authorized(request):
            return web.json_response({"code": 99991663, "msg": "invalid token"}, status=400)
        failure = self.injected("patch", params)
        if failure is not None:
            return failure
        return self.record("patch", params, {"code": 0, "msg": "success", "data": {}})

    async def _file(self, request: web.Request) -> web.Response:
        fields: dict[str, bytes] = {}
        async for part in await request.multipart():  # raw bytes of each part, as lark-oapi sends them
            fields[str(part.name)] = bytes(await part.read())  # type: ignore[union-attr]
        content = fields.get("file", b"")
        params = {
            "file_type": fields.get("file_type", b"").decode(),
            "file_name": fields.get("file_name", b"").decode(),
        }
        failure = self.injected("file", params)
        if failure is not None:
            return failure
        file_key = f"file_v2_{next(self._ids)}"
        self.uploads[file_key] = content
        return self.record("file", params, {"code": 0, "data": {"file_key": file_key}}, body=content)


def encrypt(plaintext: str, key: str = ENCRYPT_KEY) -> str:
    """Encrypt an event the way Feishu does: AES-256-CBC, key sha256(encrypt key), random IV first."""
    data = plaintext.encode()
    pad = 16 - len(data) % 16
    iv = os.urandom(16)
    cipher = AES.new(hashlib.sha256(key.encode()).digest(), AES.MODE_CBC, iv)
    return base64.b64encode(iv + cipher.encrypt(data + bytes([pad]) * pad)).decode()


def message_event(
    text: str,
    *,
    event_id: str | None = None,
    chat_id: str = "oc_group1",
    user: str = "ou_user1",
    token: str = VERIFICATION_TOKEN,
) -> dict[str, Any]:
    """Return an ``im.message.receive_v1`` event of a group message that @mentions the bot."""
    return {
        "schema": "2.0",
        "header": {
            "event_id": event_id or uuid.uuid4().hex,
            "event_type": "im.message.receive_v1",
            "create_time": str(int(time.time() * 1000)),
            "token": token,
            "app_id": APP_ID,
            "tenant_key": TENANT,
        },
        "event": {
            "sender": {
                "sender_id": {"open_id": user, "union_id": "on_1", "user_id": "u1"},
                "sender_type": "user",
                "tenant_key": TENANT,
            },
            "message": {
                "message_id": f"om_user_{uuid.uuid4().hex[:8]}",
                "create_time": str(int(time.time() * 1000)),
                "chat_id": chat_id,
                "chat_type": "group",
                "message_type": "text",
                "content": json.dumps({"text": f"@_user_1 {text}"}, ensure_ascii=False),
                "mentions": [
                    {"key": "@_user_1", "id": {"open_id": "ou_bot"}, "name": "dialogforge", "tenant_key": TENANT}
                ],
            },
        },
    }


def signed_request(
    payload: dict[str, Any],
    *,
    key: str | None = ENCRYPT_KEY,
    timestamp: int | None = None,
    sign_with: str | None = None,
) -> tuple[bytes, dict[str, str]]:
    """Return the body and headers of an event request (encrypted and signed when ``key`` is set)."""
    plain = json.dumps(payload, ensure_ascii=False)
    if key is None:
        return plain.encode(), {"Content-Type": "application/json"}
    body = json.dumps({"encrypt": encrypt(plain, key)}).encode()
    ts, nonce = str(int(time.time()) if timestamp is None else timestamp), uuid.uuid4().hex
    signature = hashlib.sha256((ts + nonce + (sign_with or key)).encode() + body).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "X-Lark-Request-Timestamp": ts,
        "X-Lark-Request-Nonce": nonce,
        "X-Lark-Signature": signature,
    }
    return body, headers
