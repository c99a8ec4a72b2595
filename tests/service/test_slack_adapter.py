"""The Slack adapter without sockets: mention text, mounting rules, no secret in logs."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from fastapi import FastAPI
from starlette.routing import NoMatchFound

from service.chatops.dispatch import ChatDispatcher
from service.settings import Settings
from service.slack.bot import SlackBot, mention_text
from service.slack.mount import mount_slack
from service.slack.output import SlackOutput


def test_mention_text_drops_user_mentions() -> None:
    assert mention_text("<@U0BOT> 温柔 50") == "温柔 50"
    assert mention_text("<@U0BOT|dialogforge>  help <@U2>") == "help"


def settings(**values: Any) -> Settings:
    return Settings(_env_file=None, **{"SLACK_BOT_TOKEN": None, "SLACK_SIGNING_SECRET": None, **values})  # type: ignore[call-arg,arg-type]


def test_the_bot_is_off_without_token_and_secret(caplog: pytest.LogCaptureFixture) -> None:
    app = FastAPI()
    dispatcher = ChatDispatcher()
    with caplog.at_level(logging.INFO, logger="service.slack.mount"):
        assert mount_slack(app, settings(SLACK_BOT_TOKEN="xoxb-only-token"), dispatcher) is None
    assert [r.getMessage() for r in caplog.records] == [
        "Slack bot off: set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET to turn it on"
    ]
    assert not dispatcher.platforms
    with pytest.raises(NoMatchFound):
        app.url_path_for("slack_events")


def test_the_bot_mounts_without_logging_secrets(caplog: pytest.LogCaptureFixture) -> None:
    app = FastAPI()
    dispatcher = ChatDispatcher()
    values = settings(SLACK_BOT_TOKEN="xoxb-secret-token", SLACK_SIGNING_SECRET="signing-secret-value")
    with caplog.at_level(logging.DEBUG):
        bot = mount_slack(app, values, dispatcher)
    assert isinstance(bot, SlackBot) and dispatcher.platforms == {"slack": bot}
    assert app.url_path_for("slack_events") == "/slack/events"
    assert "/slack/events" not in app.openapi()["paths"]
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "xoxb-secret-token" not in logged and "signing-secret-value" not in logged
    assert "xoxb-secret-token" not in repr(values) and "signing-secret-value" not in str(values)
    assert bot.client.base_url == "https://slack.com/api/"


def test_an_output_is_rebuilt_from_its_anchor() -> None:
    bot = SlackBot(settings(SLACK_BOT_TOKEN="xoxb-t", SLACK_SIGNING_SECRET="s"), ChatDispatcher())
    output = SlackOutput(bot.client, "C1")
    output.ts, output.thread_ts = "1.5", "1.5"
    restored = bot.restore(output.anchor())
    assert (restored.channel, restored.ts, restored.thread_ts) == ("C1", "1.5", "1.5")
    fresh = bot.restore(SlackOutput(bot.client, "C2", "9.1").anchor())
    assert (fresh.channel, fresh.ts, fresh.thread_ts) == ("C2", None, "9.1")
