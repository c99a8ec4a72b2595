"""Kill windows of a chat job: SIGKILL between its start and its record, and between its delivery and its record.

The first ``dialogforge serve`` (fake models, a mock Feishu) dies by SIGKILL exactly there: the
job and its client key are stored, the ``chat_jobs`` row is not, the delivery is not marked
handled. Feishu retries the push; the second server on the same data directory resumes the
job, and the retry (the same ``event_id``, so the same client key) finds that job instead of
starting another one and follows it to its file. Before the client key, the retry made a second job.

The second kill comes after the file and the summary went out but before the job was marked
delivered: the resumed follower sends no second file (the file was recorded as sent) and the
summary's copy carries the first one's uuid, which Feishu (the mock, as the API documents)
drops, so the chat shows each once.
"""

from __future__ import annotations

import signal
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration import feishu_mock
from tests.integration.platform_mock import LoopThread
from tests.integration.serve_support import FAKE_MODELS, NO_LLM, Server, report

# SIGKILL ourselves where the chat would record the job it has just started (manager.start returned).
KILLED_BEFORE_THE_CHAT_RECORD = (
    FAKE_MODELS
    + """
import os, signal
import service.chatops.store
service.chatops.store.ChatJobStore.add = lambda self, job, delivery=None: os.kill(os.getpid(), signal.SIGKILL)
"""
)

# SIGKILL ourselves once the file and the summary are in the chat, before the follower marks the job delivered.
KILLED_BEFORE_THE_DELIVERED_MARK = (
    FAKE_MODELS
    + """
import os, signal
import service.chatops.service
service.chatops.service.ChatOpsService.delivered = lambda self, job_id: os.kill(os.getpid(), signal.SIGKILL)
"""
)


@pytest.fixture
def feishu() -> Iterator[tuple[feishu_mock.FeishuMock, dict[str, str]]]:
    loop = LoopThread()
    mock = feishu_mock.FeishuMock()
    env = {
        "FEISHU_APP_ID": feishu_mock.APP_ID,
        "FEISHU_APP_SECRET": feishu_mock.APP_SECRET,
        "FEISHU_VERIFICATION_TOKEN": feishu_mock.VERIFICATION_TOKEN,
        "FEISHU_ENCRYPT_KEY": feishu_mock.ENCRYPT_KEY,
        "DIALOGFORGE_FEISHU_API_URL": loop.run(mock.start()),
        "DIALOGFORGE_FEISHU_PROGRESS_INTERVAL_S": "0.3",
    }
    yield mock, env
    loop.run(mock.stop())
    loop.close()


def table(data_dir: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(data_dir / "dialogforge.db") as db:
        return db.execute(sql).fetchall()


def push(server: Server, event: dict[str, object]) -> httpx.Response:
    body, headers = feishu_mock.signed_request(event)
    return httpx.post(f"{server.base}/feishu/events", content=body, headers=headers, timeout=30, trust_env=False)


def test_a_retry_after_a_kill_between_start_and_record_follows_the_one_job(
    tmp_path: Path, feishu: tuple[feishu_mock.FeishuMock, dict[str, str]]
) -> None:
    mock, env = feishu
    data, log = tmp_path / "data", tmp_path / "server.log"
    event = feishu_mock.message_event("cs 3", event_id="ev-killed-mid-start")

    first = Server(data, NO_LLM, log, env=env, prelude=KILLED_BEFORE_THE_CHAT_RECORD)
    assert push(first, event).status_code == 200  # acknowledged at once; the work runs in the background
    assert first.process.wait(120) == -signal.SIGKILL
    first.log.close()
    jobs = table(data, "SELECT id FROM jobs")
    assert len(jobs) == 1, "the job must have been stored before the kill"
    assert table(data, "SELECT job_id FROM chat_jobs") == [], "the chat must not have recorded it"
    assert table(data, "SELECT handled FROM chat_deliveries") == [(0,)]

    second = Server(data, NO_LLM, log, env=env, prelude=FAKE_MODELS)
    try:
        retry = push(second, event)  # Feishu pushes again: the killed process never answered the delivery
        assert retry.status_code == 200 and retry.json() != {"msg": "duplicate"}
        deadline = time.monotonic() + 120
        while not any("samples accepted" in text for text in mock.texts()):
            assert time.monotonic() < deadline, f"no summary; log: {second.log_tail()}"
            time.sleep(0.1)
        listed = second.get("/v1/jobs").json()
        assert listed["total"] == 1 and listed["items"][0]["id"] == jobs[0][0]
        assert [row[0] for row in table(data, "SELECT job_id FROM chat_jobs")] == [jobs[0][0]]
        started = [text for text in mock.texts() if "Started job" in text]
        assert len(started) == 1 and jobs[0][0] in started[0]
        (uploaded,) = mock.uploads.values()
        assert uploaded == second.get(f"/v1/jobs/{jobs[0][0]}/dataset", params={"format": "sharegpt"}).content
        assert len(uploaded.splitlines()) == 3
        report("chat crash window", jobs=listed["total"], started_messages=len(started), file_rows=3)
    finally:
        second.stop(signal.SIGTERM)


def test_a_kill_after_the_delivery_but_before_its_record_shows_the_file_and_the_summary_once(
    tmp_path: Path, feishu: tuple[feishu_mock.FeishuMock, dict[str, str]]
) -> None:
    mock, env = feishu
    data, log = tmp_path / "data", tmp_path / "server.log"
    first = Server(data, NO_LLM, log, env=env, prelude=KILLED_BEFORE_THE_DELIVERED_MARK)
    assert push(first, feishu_mock.message_event("cs 3")).status_code == 200
    assert first.process.wait(120) == -signal.SIGKILL
    first.log.close()
    assert table(data, "SELECT following, file_sent FROM chat_jobs") == [(1, 1)]
    summaries = [text for text in mock.texts() if "samples accepted" in text]
    assert len(summaries) == 1 and len(mock.calls_to("file")) == 1

    second = Server(data, NO_LLM, log, env=env, prelude=FAKE_MODELS)
    try:
        deadline = time.monotonic() + 120
        while table(data, "SELECT following FROM chat_jobs") != [(0,)]:
            assert time.monotonic() < deadline, f"the resumed follower did not finish; log: {second.log_tail()}"
            time.sleep(0.1)
    finally:
        second.stop(signal.SIGTERM)
    files = [call for call in mock.calls_to("reply") if call.params["msg_type"] == "file"]
    assert len(files) == 1 and len(mock.calls_to("file")) == 1, "the file was sent again"
    assert [text for text in mock.texts() if "samples accepted" in text] == summaries
    assert mock.deduplicated >= 1, "the resumed follower sent no copy: the kill window was not exercised"
    report("chat delivery kill window", uploads=1, file_messages=len(files), summaries=1, dropped=mock.deduplicated)
