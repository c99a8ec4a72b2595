"""Slack's timestamp header: anything but an integer is 401 before the signature check, with no error logged."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
from slack_sdk.signature import SignatureVerifier

from tests.service.api_support import api_client

SECRET = "test-signing-secret-abcdef"
BODY = "token=legacy&team_id=T1&channel_id=C1&user_id=U1&command=%2Fdataset&text=help"


@pytest.mark.parametrize("timestamp", ["abc", "1.5", "", "1" * 5000, "0x10", "12 34"])
async def test_a_non_integer_timestamp_is_401_quietly(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, timestamp: str
) -> None:
    slack = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": SECRET}
    async with api_client(tmp_path, register_style=False, **slack) as (client, _):
        caplog.clear()
        with caplog.at_level(logging.INFO):
            headers = {
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Slack-Request-Timestamp": timestamp,
                "X-Slack-Signature": "v0=" + "0" * 64,
            }
            for _ in range(3):
                answer = await client.post("/slack/events", content=BODY, headers=headers)
                assert answer.status_code == 401 and answer.json() == {"error": "invalid request"}
        noisy = [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING]
        assert noisy == [], noisy
        # a well-formed but wrongly signed request is still bolt's own 401
        now = str(int(time.time()))
        wrong = SignatureVerifier("another-secret").generate_signature(timestamp=now, body=BODY)
        signed = {**headers, "X-Slack-Request-Timestamp": now, "X-Slack-Signature": wrong}
        assert (await client.post("/slack/events", content=BODY, headers=signed)).status_code == 401
