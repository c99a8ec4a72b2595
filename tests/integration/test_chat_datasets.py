"""The data set chat commands through the real stack (uvicorn + FastAPI + lark-oapi against a mock Feishu).

A small version is imported into the data directory before the app starts; ``清洗``, ``报告``
and ``增强`` are sent by @mention, as a user types them in a group.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from graph.datasets.importer import import_sources
from graph.datasets.store import DatasetStore
from tests.graph.datasets.helpers import sharegpt, write_jsonl
from tests.integration import test_dingtalk_bot as dingtalk
from tests.integration import test_slack_bot as slack
from tests.integration.chat_stack import job_count, served_app
from tests.integration.dingtalk_mock import DingTalkMock, callback
from tests.integration.feishu_mock import FeishuMock, message_event
from tests.integration.slack_mock import SlackMock
from tests.integration.test_feishu_bot import JOB_ID, Stack, feishu_settings

ROWS = [
    sharegpt("你好，积分怎么兑换？", "在App的积分商城里兑换就可以啦"),
    sharegpt("<p>卡丢了&amp;怎么办</p>", "请先挂失，电话13812345678"),
    sharegpt("你好，积分怎么兑换？", "在App的积分商城里兑换就可以啦"),  # an exact repeat
    sharegpt("How do I raise my card limit?", "As an AI language model, I cannot help with that."),
    sharegpt("My card was charged twice", "Sorry about that! Open the app, tap the charge and choose Dispute."),
]


REPORT_LINK = re.compile(r"/chat/reports/[A-Za-z0-9_.-]+")


def import_bank_logs(data_dir: Path) -> None:
    import_sources(DatasetStore(data_dir), "bank-logs", [str(write_jsonl(data_dir / "in.jsonl", ROWS))])


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    import_bank_logs(tmp_path)
    mock = FeishuMock()
    async with served_app(feishu_settings(tmp_path, await mock.start())) as (client, app):
        yield Stack(mock, client, app)
    await mock.stop()


async def test_a_chinese_clean_writes_a_new_version_and_posts_its_summary(stack: Stack, tmp_path: Path) -> None:
    assert (await stack.send(message_event("清洗 bank-logs@1"))).status_code == 200
    await stack.mock.wait_for(lambda mock: any("New version" in text for text in mock.texts()))
    texts = stack.mock.texts()
    assert any("Started job" in text and "cleaning bank-logs@1" in text for text in texts)
    assert any("rows read" in text and "(clean bank-logs@1" in text for text in texts)  # the progress card
    summary = next(text for text in texts if "New version" in text)
    manifest = DatasetStore(tmp_path).resolve("bank-logs@2")
    assert "5 rows in → " + f"{manifest.rows} out" in summary and "`bank-logs@2`" in summary
    assert manifest.rows < 5 and "exact-dedup 1" in summary and "refusals" in summary
    assert not stack.mock.uploads  # a cleaning is a version, not a file


async def test_an_unknown_version_or_operator_starts_no_job(stack: Stack) -> None:
    for text in ("清洗 bank-logs@9", "clean bank-logs@1 scrub", "增强 bank-logs@1 飞起来", "报告 loans@1"):
        await stack.send(message_event(text))
    await stack.mock.wait_for(lambda mock: len([t for t in mock.texts() if t.startswith("Sorry")]) == 4)
    sorry = "\n".join(text for text in stack.mock.texts() if text.startswith("Sorry"))
    assert "no version bank-logs@9; versions: 1" in sorry  # what exists is listed
    assert "'scrub'" in sorry and "exact-dedup" in sorry
    assert "'飞起来'" in sorry and "paraphrase (换个说法" in sorry
    assert "loans" in sorry and "bank-logs" in sorry
    assert await job_count(stack.app) == 0


async def test_a_report_delivers_the_html_file_and_its_headline(stack: Stack) -> None:
    assert (await stack.send(message_event("报告 bank-logs@1"))).status_code == 200
    await stack.mock.wait_for(lambda mock: bool(mock.uploads))
    ((_, html),) = stack.mock.uploads.items()
    (upload,) = stack.mock.calls_to("file")
    assert upload.params["file_name"] == "bank-logs-v1-report.html"
    assert html.startswith(b"<!") and b"bank-logs@1" in html
    await stack.mock.wait_for(lambda mock: any("*QC report of `bank-logs@1`*" in text for text in mock.texts()))
    headline = next(text for text in stack.mock.texts() if "*QC report of" in text)
    assert "5 rows" in headline and "Origins:" in headline


async def test_a_chinese_augment_runs_a_job_on_the_version_and_posts_its_summary(stack: Stack) -> None:
    """The fake models' paraphrases fail the meaning check, so no child is accepted: the summary says so."""
    assert (await stack.send(message_event("增强 bank-logs@1 换个说法 2条 cs"))).status_code == 200
    await stack.mock.wait_for(lambda mock: any("new samples from" in text for text in mock.texts()))
    texts = stack.mock.texts()
    started = next(text for text in texts if "Started job" in text)
    assert "augmenting bank-logs@1 (up to 10 new samples)" in started  # 5 rows x 1 operator x 2
    job_id = JOB_ID.search(started).group(1)  # type: ignore[union-attr]
    record = await stack.app.state.manager.get(job_id)
    assert record.request.kind == "augment" and record.request.per_sample == 2
    assert record.request.style == "empathetic-cs" and [spec.op for spec in record.request.ops] == ["paraphrase"]
    summary = next(text for text in texts if "new samples from" in text)
    assert "/10 new samples from bank-logs@1" in summary and "Rejected: " in summary
    assert "New version" in summary or "no new sample was accepted" in summary


async def test_operator_parameters_typed_in_the_chat_reach_the_job(stack: Stack) -> None:
    assert (await stack.send(message_event("增强 bank-logs@1 换场景 续写 cs 场景=餐厅，书店 4轮"))).status_code == 200
    await stack.mock.wait_for(lambda mock: any("Started job" in text for text in mock.texts()))
    started = next(text for text in stack.mock.texts() if "Started job" in text)
    record = await stack.app.state.manager.get(JOB_ID.search(started).group(1))  # type: ignore[union-attr]
    scene, extend = record.request.ops
    assert (scene.op, scene.scenes, extend.op, extend.turns) == ("scene-transfer", ["餐厅", "书店"], "extend", 4)
    assert (await stack.send(message_event("增强 bank-logs@1 换场景 cs"))).status_code == 200
    await stack.mock.wait_for(lambda mock: any(text.startswith("Sorry") for text in mock.texts()))
    sorry = next(text for text in stack.mock.texts() if text.startswith("Sorry"))
    assert "scenes" in sorry and "场景=餐厅,书店" in sorry and await job_count(stack.app) == 1


async def test_on_dingtalk_a_report_comes_as_a_short_lived_link_without_an_api_key(tmp_path: Path) -> None:
    import_bank_logs(tmp_path)
    mock = DingTalkMock()
    async with served_app(dingtalk.dingtalk_settings(tmp_path, await mock.start())) as (client, app):
        stack = dingtalk.Stack(mock, client, app)
        assert (await stack.send(callback("report bank-logs@1"))).status_code == 200
        await mock.wait_for(lambda mock: any(REPORT_LINK.search(text) for text in mock.texts()))
        text = next(text for text in mock.texts() if REPORT_LINK.search(text))
        assert "*QC report of `bank-logs@1`*: 5 rows" in text
        link = REPORT_LINK.search(text).group(0)  # type: ignore[union-attr]
        page = await client.get(link)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert page.text.startswith("<!") and "bank-logs@1" in page.text
        assert page.headers["content-security-policy"].startswith("default-src 'none'")  # nothing may run or load
        forged = await client.get(link[:-4] + "AAAA")
        assert forged.status_code == 401
        dataset_token = app.state.chat_links.url("x", "raw").rsplit("/", 1)[1]
        assert (await client.get(f"/chat/reports/{dataset_token}")).status_code == 401  # not a report token
    await mock.stop()


async def test_on_slack_english_clean_and_report_by_mention(tmp_path: Path) -> None:
    import_bank_logs(tmp_path)
    mock = SlackMock()
    async with served_app(slack.slack_settings(tmp_path, await mock.start())) as (client, app):
        stack = slack.Stack(mock, client, app)
        body = stack.mention_body("clean bank-logs@1 normalize,exact-dedup", event_id="Ev1", ts="1700000000.000100")
        assert (await stack.event(body)).status_code == 200
        await mock.wait_for(lambda mock: any("New version" in text for text in slack.texts_posted(mock)))
        summary = next(text for text in slack.texts_posted(mock) if "New version" in text)
        assert "5 rows in → 4 out" in summary and "Dropped: 1 (exact-dedup 1)" in summary
        assert "`bank-logs@2`" in summary and DatasetStore(tmp_path).resolve("bank-logs@2").rows == 4
        body = stack.mention_body("report bank-logs@2", event_id="Ev2", ts="1700000000.000200")
        assert (await stack.event(body)).status_code == 200
        # the file's bytes arrive before the upload is completed: wait for the completion
        await mock.wait_for(lambda mock: bool(mock.calls_to("files.completeUploadExternal")))
        ((_, html),) = mock.uploads.items()
        assert html.startswith(b"<!") and b"bank-logs@2" in html
        (complete,) = mock.calls_to("files.completeUploadExternal")
        assert "*QC report of `bank-logs@2`*: 4 rows" in str(complete.params)
    await mock.stop()
