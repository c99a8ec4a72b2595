"""A local mock of Slack's Web API on loopback (aiohttp), recording every call.

Implements auth.test, chat.postMessage, chat.update, files.getUploadURLExternal, the upload URL,
files.completeUploadExternal and a response_url endpoint. It can answer 429 with Retry-After
once for chosen methods, and refuse uploads.
"""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

from aiohttp import web

from tests.integration.platform_mock import Call, PlatformMock

BOT_TOKEN = "xoxb-test-token-0123456789"
BOT_USER = "UBOT0001"
TEAM = "T0001"


class SlackMock(PlatformMock):
    """The mock's state: recorded calls, uploaded files, and what to get wrong."""

    def __init__(self) -> None:
        super().__init__()
        self.uploads: dict[str, bytes] = {}
        self.rate_limit_once: set[str] = set()
        self.fail_uploads = False
        self._ids = itertools.count(1)

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/api/{method}", self._api)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_post("/respond/{hook}", self._respond)

    async def start(self) -> str:
        """Serve on a free loopback port; return the Web API base URL (``.../api/``)."""
        return f"{await super().start()}/api/"

    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            params.update(await request.json())
        elif request.can_read_body:
            params.update(dict(await request.post()))
        return params

    def _limited(self, method: str, params: dict[str, Any]) -> web.Response | None:
        if method in self.rate_limit_once:
            self.rate_limit_once.discard(method)
            self.calls.append(Call(method, params, time.monotonic(), status=429))
            return web.json_response({"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "1"})
        return None

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await self._params(request)
        if request.headers.get("Authorization") != f"Bearer {BOT_TOKEN}":
            self.calls.append(Call(method, params, time.monotonic(), status=401))
            return web.json_response({"ok": False, "error": "invalid_auth"})
        limited = self._limited(method, params)
        if limited is not None:
            return limited
        answer = self._answer(method, params)
        self.calls.append(Call(method, params, time.monotonic(), response=answer))
        return web.json_response(answer)

    def _answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {"ok": True, "user_id": BOT_USER, "bot_id": "B0001", "team_id": TEAM, "user": "dialogforge"}
        if method == "chat.postMessage":
            ts = f"{int(time.time())}.{next(self._ids):06d}"
            message = {"text": params.get("text"), "ts": ts, "thread_ts": params.get("thread_ts")}
            return {"ok": True, "channel": params.get("channel"), "ts": ts, "message": message}
        if method == "chat.update":
            return {"ok": True, "channel": params.get("channel"), "ts": params.get("ts"), "text": params.get("text")}
        if method == "files.getUploadURLExternal":
            file_id = f"F{next(self._ids):06d}"
            return {"ok": True, "upload_url": f"{self.base_url}/upload/{file_id}", "file_id": file_id}
        if method == "files.completeUploadExternal":
            files = params.get("files")
            files = json.loads(files) if isinstance(files, str) else files or []
            return {"ok": True, "files": [{"id": f["id"], "title": f.get("title")} for f in files]}
        return {"ok": False, "error": "unknown_method"}

    async def _upload(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        body = await request.read()
        if self.fail_uploads:
            self.calls.append(Call("upload", {"file_id": file_id}, time.monotonic(), status=500, body=body))
            return web.Response(status=500, text="upload failed")
        self.calls.append(Call("upload", {"file_id": file_id}, time.monotonic(), body=body))
        self.uploads[file_id] = body
        return web.Response(text=f"OK - {len(body)}")

    async def _respond(self, request: web.Request) -> web.Response:
        params = await self._params(request)
        self.calls.append(Call("response_url", params, time.monotonic()))
        return web.Response(text="ok")
