"""DingTalk's OpenAPI through the official ``alibabacloud-dingtalk`` SDK: access token, robot messages, cards.

- ``oauth2_1_0.GetAccessToken`` (app key + secret) -> a token valid ``expireIn`` seconds, cached
  here and renewed five minutes before it ends;
- ``robot_1_0.OrgGroupSend`` (group) / ``BatchSendOTO`` (one-to-one): ``sampleMarkdown`` messages;
- ``im_1_0.SendRobotInteractiveCard`` / ``UpdateRobotInteractiveCard``: the progress card
  (template ``StandardCard``), updated by the ``cardBizId`` we choose, so a restarted server
  can keep updating it.

Every call is retried on 429 and 5xx with backoff (``service.chatops.retry``). The endpoint is
``DIALOGFORGE_DINGTALK_API_URL`` (default ``https://api.dingtalk.com``; tests use a mock).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from alibabacloud_dingtalk.im_1_0 import models as im_models
from alibabacloud_dingtalk.im_1_0.client import Client as ImClient
from alibabacloud_dingtalk.oauth2_1_0 import models as oauth_models
from alibabacloud_dingtalk.oauth2_1_0.client import Client as OAuthClient
from alibabacloud_dingtalk.robot_1_0 import models as robot_models
from alibabacloud_dingtalk.robot_1_0.client import Client as RobotClient
from alibabacloud_tea_openapi import models as open_api_models
from alibabacloud_tea_util import models as util_models

from service.chatops.errors import ChatOutputError
from service.chatops.retry import Retryable, with_retries

T = TypeVar("T")
TOKEN_MARGIN_S = 300.0


def sdk_config(api_url: str) -> open_api_models.Config:
    """Return the SDK's config for an API base URL (``https://api.dingtalk.com`` or a mock's)."""
    parts = urlsplit(api_url if "://" in api_url else f"https://{api_url}")
    return open_api_models.Config(protocol=parts.scheme or "https", region_id="central", endpoint=parts.netloc)


async def _guarded(call: Callable[[], Awaitable[T]]) -> T:
    """Await one SDK call; turn its errors into Retryable (429, 5xx, network) or ChatOutputError."""
    try:
        return await call()
    except OSError as exc:
        raise Retryable(f"DingTalk could not be reached ({type(exc).__name__})") from None
    except Exception as exc:  # the Tea SDK raises its own exception types with a statusCode
        status = int(getattr(exc, "statusCode", 0) or 0)
        code = getattr(exc, "code", "") or type(exc).__name__
        if status == 429 or status >= 500:
            raise Retryable(f"DingTalk answered HTTP {status} ({code})") from None
        if status:
            raise ChatOutputError(f"DingTalk answered HTTP {status} ({code})") from None
        raise Retryable(f"the DingTalk request failed ({code})") from None


class DingTalkApi:
    """The robot's calls: text to a conversation, and a card sent then updated."""

    def __init__(self, app_key: str, app_secret: str, robot_code: str, api_url: str) -> None:
        """Keep the app's credentials (never logged) and build the SDK clients."""
        config = sdk_config(api_url)
        self._oauth, self._robot, self._im = OAuthClient(config), RobotClient(config), ImClient(config)
        self._app_key, self._app_secret, self.robot_code = app_key, app_secret, robot_code
        self._token: str | None = None
        self._token_until = 0.0
        self._token_lock = asyncio.Lock()

    async def token(self) -> str:
        """Return a valid access token (fetched once, renewed before it expires)."""
        async with self._token_lock:
            if self._token is None or time.monotonic() >= self._token_until:
                request = oauth_models.GetAccessTokenRequest(app_key=self._app_key, app_secret=self._app_secret)
                response = await with_retries(lambda: _guarded(lambda: self._oauth.get_access_token_async(request)))
                self._token = str(response.body.access_token)
                self._token_until = time.monotonic() + float(response.body.expire_in or 7200) - TOKEN_MARGIN_S
            return self._token

    async def _call(self, make: Callable[[str], Awaitable[T]]) -> T:
        async def once() -> T:
            token = await self.token()
            return await _guarded(lambda: make(token))

        return await with_retries(once)

    async def send_markdown(self, conversation: Conversation, title: str, text: str) -> None:
        """Send a markdown message to a group or a person."""
        param = json.dumps({"title": title, "text": text}, ensure_ascii=False)
        runtime = util_models.RuntimeOptions()
        if conversation.is_group:
            group = robot_models.OrgGroupSendRequest(
                msg_key="sampleMarkdown",
                msg_param=param,
                open_conversation_id=conversation.id,
                robot_code=self.robot_code,
            )
            await self._call(
                lambda token: self._robot.org_group_send_with_options_async(
                    group, robot_models.OrgGroupSendHeaders(x_acs_dingtalk_access_token=token), runtime
                )
            )
            return
        single = robot_models.BatchSendOTORequest(
            msg_key="sampleMarkdown", msg_param=param, robot_code=self.robot_code, user_ids=[conversation.staff_id]
        )
        await self._call(
            lambda token: self._robot.batch_send_otowith_options_async(
                single, robot_models.BatchSendOTOHeaders(x_acs_dingtalk_access_token=token), runtime
            )
        )

    async def send_card(self, conversation: Conversation, card_biz_id: str, card_data: dict[str, Any]) -> None:
        """Send a ``StandardCard`` interactive card with our own ``cardBizId``."""
        request = im_models.SendRobotInteractiveCardRequest(
            card_template_id="StandardCard",
            card_biz_id=card_biz_id,
            robot_code=self.robot_code,
            card_data=json.dumps(card_data, ensure_ascii=False),
        )
        if conversation.is_group:
            request.open_conversation_id = conversation.id
        else:
            request.single_chat_receiver = json.dumps({"userId": conversation.staff_id})
        await self._call(
            lambda token: self._im.send_robot_interactive_card_with_options_async(
                request,
                im_models.SendRobotInteractiveCardHeaders(x_acs_dingtalk_access_token=token),
                util_models.RuntimeOptions(),
            )
        )

    async def update_card(self, card_biz_id: str, card_data: dict[str, Any]) -> None:
        """Replace a card's data (everyone in the conversation sees the new card)."""
        request = im_models.UpdateRobotInteractiveCardRequest(
            card_biz_id=card_biz_id, card_data=json.dumps(card_data, ensure_ascii=False)
        )
        await self._call(
            lambda token: self._im.update_robot_interactive_card_with_options_async(
                request,
                im_models.UpdateRobotInteractiveCardHeaders(x_acs_dingtalk_access_token=token),
                util_models.RuntimeOptions(),
            )
        )


class Conversation:
    """Where a robot writes: a group (``openConversationId``) or one person (their staff id)."""

    def __init__(self, conversation_id: str, conversation_type: str, staff_id: str) -> None:
        """``conversation_type`` is DingTalk's: "1" one-to-one, "2" group."""
        self.id, self.type, self.staff_id = conversation_id, conversation_type, staff_id

    @property
    def is_group(self) -> bool:
        """Whether this is a group conversation."""
        return self.type == "2"
