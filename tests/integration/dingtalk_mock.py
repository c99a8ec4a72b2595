"""A mock of DingTalk's OpenAPI on loopback: access token, robot messages, interactive cards.

Checks ``x-acs-dingtalk-access-token`` on every call and answers failures queued by
``fail_next`` (e.g. 429, 503). Also builds signed robot callbacks the way DingTalk sends them.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from aiohttp import web

from service.dingtalk.verify import signature
from tests.integration.platform_mock import PlatformMock

APP_KEY = "ding-app-key"
APP_SECRET = "dingtalk-app-secret-0123456789"
ACCESS_TOKEN = "dt-access-token-xyz"
CORP = "ding-corp-1"


class DingTalkMock(PlatformMock):
    """DingTalk's API: the cards and messages the robot sent."""

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v1.0/oauth2/accessToken", self._token)
        app.router.add_post("/v1.0/robot/groupMessages/send", self._api("group_send"))
        app.router.add_post("/v1.0/robot/oToMessages/batchSend", self._api("oto_send"))
        app.router.add_post("/v1.0/im/v1.0/robot/interactiveCards/send", self._api("card_send"))
        app.router.add_put("/v1.0/im/robots/interactiveCards", self._api("card_update"))

    def texts(self) -> list[str]:
        """Return the markdown of every message, and every card's text, in order."""
        out = []
        for call in self.calls:
            if call.status != 200:
                continue
            if call.method in ("group_send", "oto_send"):
                out.append(json.loads(call.params["msgParam"])["text"])
            elif call.method in ("card_send", "card_update"):
                out.append(json.loads(call.params["cardData"])["contents"][0]["text"])
        return out

    async def _token(self, request: web.Request) -> web.Response:
        body = await request.json()
        if (body.get("appKey"), body.get("appSecret")) != (APP_KEY, APP_SECRET):
            return web.json_response({"code": "invalidClientId", "message": "wrong key"}, status=400)
        return self.record("token", {"appKey": body.get("appKey")}, {"accessToken": ACCESS_TOKEN, "expireIn": 7200})

    def _api(self, method: str) -> Any:
        async def handle(request: web.Request) -> web.Response:
            params = await request.json()
            if request.headers.get("x-acs-dingtalk-access-token") != ACCESS_TOKEN:
                return web.json_response({"code": "InvalidAuthentication", "message": "token"}, status=401)
            failure = self.injected(method, params)
            if failure is not None:
                return failure
            return self.record(method, params, {"processQueryKey": uuid.uuid4().hex, "result": True})

        return handle


def callback(
    text: str,
    *,
    msg_id: str | None = None,
    conversation: str = "cid-group-1",
    staff: str = "staff-1",
    group: bool = True,
) -> dict[str, Any]:
    """Return a robot callback of a message that @mentions the robot."""
    return {
        "msgtype": "text",
        "text": {"content": f" {text}"},
        "msgId": msg_id or f"msg{uuid.uuid4().hex}",
        "createAt": int(time.time() * 1000),
        "conversationType": "2" if group else "1",
        "conversationId": conversation,
        "conversationTitle": "数据组",
        "senderId": f"$:LWCP_v1:${staff}",
        "senderNick": "小王",
        "senderCorpId": CORP,
        "senderStaffId": staff,
        "chatbotCorpId": CORP,
        "chatbotUserId": "$:LWCP_v1:$bot",
        "robotCode": APP_KEY,
        "isInAtList": True,
        "sessionWebhook": "http://127.0.0.1:9/unused",
        "sessionWebhookExpiredTime": int(time.time() * 1000) + 5400_000,
    }


def signed(
    payload: dict[str, Any], *, secret: str = APP_SECRET, timestamp_ms: int | None = None
) -> tuple[bytes, dict[str, str]]:
    """Return the body and headers of a callback signed the way DingTalk signs it."""
    ts = str(int(time.time() * 1000) if timestamp_ms is None else timestamp_ms)
    headers = {"Content-Type": "application/json", "timestamp": ts, "sign": signature(ts, secret)}
    return json.dumps(payload, ensure_ascii=False).encode(), headers
