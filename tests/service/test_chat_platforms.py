"""Feishu and DingTalk adapters without sockets: request checks, message text, retries, mounting rules."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
from typing import Any

import pytest
from fastapi import FastAPI

from service.chatops.dispatch import ChatDispatcher
from service.chatops.errors import ChatOutputError, UploadUnsupported
from service.chatops.retry import Retryable, with_retries
from service.dingtalk.mount import mount_dingtalk
from service.dingtalk.output import DingTalkOutput
from service.dingtalk.verify import DingTalkAuthError, signature, verify_callback
from service.feishu.bot import message_text
from service.feishu.mount import mount_feishu
from service.feishu.verify import FeishuAuthError, verify_event
from service.settings import Settings
from tests.integration.dingtalk_mock import APP_SECRET, callback, signed
from tests.integration.feishu_mock import ENCRYPT_KEY, VERIFICATION_TOKEN, message_event, signed_request


def lower(headers: dict[str, str]) -> dict[str, str]:
    return {k.lower(): v for k, v in headers.items()}


def test_a_feishu_event_is_decrypted_and_checked() -> None:
    body, headers = signed_request(message_event("帮助", event_id="ev-9"))
    event = verify_event(lower(headers), body, verification_token=VERIFICATION_TOKEN, encrypt_key=ENCRYPT_KEY)
    assert (event.type, event.event_id) == ("im.message.receive_v1", "ev-9")
    with pytest.raises(FeishuAuthError, match="away from now"):
        verify_event(
            lower(headers), body, verification_token=VERIFICATION_TOKEN, encrypt_key=ENCRYPT_KEY, now=time.time() + 600
        )
    with pytest.raises(FeishuAuthError, match="signature does not match"):
        verify_event(lower(headers), body + b" ", verification_token=VERIFICATION_TOKEN, encrypt_key=ENCRYPT_KEY)
    plain, _ = signed_request(message_event("帮助"), key=None)
    assert (
        verify_event({}, plain, verification_token=VERIFICATION_TOKEN, encrypt_key=None).type == "im.message.receive_v1"
    )
    with pytest.raises(FeishuAuthError, match="verification token"):
        verify_event({}, plain, verification_token="another", encrypt_key=None)
    with pytest.raises(FeishuAuthError, match="not JSON"):
        verify_event({}, b"\xff", verification_token=VERIFICATION_TOKEN, encrypt_key=None)


def test_feishu_message_text_drops_the_mentions() -> None:
    assert message_text(json.dumps({"text": "@_user_1 生成温柔50条"}), ["@_user_1"]) == "生成温柔50条"
    assert message_text(json.dumps({"text": "@_user_2  help @_user_3"}), []) == "help"
    assert message_text("not json", []) == ""


def test_a_dingtalk_callback_signature_is_checked_with_a_bounded_skew() -> None:
    body, headers = signed(callback("帮助"))
    assert verify_callback(headers, body, app_secret=APP_SECRET)["msgtype"] == "text"
    with pytest.raises(DingTalkAuthError, match="signature does not match"):
        verify_callback(headers, body, app_secret="another-secret")
    with pytest.raises(DingTalkAuthError, match="away from now"):
        verify_callback(headers, body, app_secret=APP_SECRET, now=time.time() + 301)
    with pytest.raises(DingTalkAuthError, match="missing"):
        verify_callback({}, body, app_secret=APP_SECRET)
    digest = hmac.new(b"secret", b"1577262236757\nsecret", hashlib.sha256).digest()  # DingTalk's documented recipe
    assert signature("1577262236757", "secret") == base64.b64encode(digest).decode()


async def test_retries_wait_what_the_platform_asks_and_stop_at_the_bound() -> None:
    calls: list[float] = []

    async def limited() -> str:
        calls.append(time.monotonic())
        if len(calls) < 3:
            raise Retryable("429", retry_after=0.2 if len(calls) == 1 else None)
        return "ok"

    assert await with_retries(limited, initial_s=0.01) == "ok"
    assert calls[1] - calls[0] >= 0.19 and len(calls) == 3

    async def refused() -> None:
        calls.append(0)
        raise ChatOutputError("no")

    calls.clear()
    with pytest.raises(ChatOutputError):
        await with_retries(refused)
    assert len(calls) == 1

    async def down() -> None:
        raise Retryable("HTTP 503")

    with pytest.raises(Retryable, match="503"):
        await with_retries(down, attempts=3, initial_s=0.01)


async def test_dingtalk_cannot_take_a_jsonl_file() -> None:
    output = DingTalkOutput.restore(None, {"conversation_id": "c", "conversation_type": "2"})  # type: ignore[arg-type]
    with pytest.raises(UploadUnsupported):
        await output.upload("x.jsonl", b"{}", "")
    assert output.anchor() == {"conversation_id": "c", "conversation_type": "2", "staff_id": "", "card_biz_id": ""}


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def test_each_bot_mounts_only_when_configured_and_logs_no_secret(caplog: pytest.LogCaptureFixture) -> None:
    app, dispatcher = FastAPI(), ChatDispatcher()
    with caplog.at_level(logging.INFO):
        assert mount_feishu(app, settings(FEISHU_APP_ID="cli_x", FEISHU_APP_SECRET="feishu-s3cret"), dispatcher) is None
        assert mount_dingtalk(app, settings(DINGTALK_APP_KEY="k"), dispatcher) is None
        on = settings(
            FEISHU_APP_ID="cli_x",
            FEISHU_APP_SECRET="feishu-s3cret",
            FEISHU_VERIFICATION_TOKEN="tok-s3cret",
            DINGTALK_APP_KEY="k",
            DINGTALK_APP_SECRET="dingtalk-s3cret",
        )
        assert mount_feishu(app, on, dispatcher) is not None and mount_dingtalk(app, on, dispatcher) is not None
    assert set(dispatcher.platforms) == {"feishu", "dingtalk"}
    assert (
        app.url_path_for("feishu_events") == "/feishu/events"
        and app.url_path_for("dingtalk_events") == "/dingtalk/events"
    )
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "Feishu bot off" in logged and "DingTalk bot off" in logged and "Feishu bot on" in logged
    assert "s3cret" not in logged and "(set FEISHU_ENCRYPT_KEY)" in logged
