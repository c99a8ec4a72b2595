"""Chat followers survive SIGKILL: ``dialogforge serve`` with Feishu and DingTalk mocks and the fake OpenAI server.

A Feishu @mention and a DingTalk @mention each start a ``温柔`` job (the real e5 embedder); the
server is killed with SIGKILL mid-job and started again: the same card keeps updating (no
second card), and the file (Feishu) and the download link (DingTalk) still arrive, byte-equal
to the export.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from benchmarks.loopback import REPO, fake_llm_server, free_port, wait_until_up
from tests.integration import dingtalk_mock, feishu_mock
from tests.integration.platform_mock import LoopThread

N = 8
PROGRESS = re.compile(r"\*(\d+)/(\d+)\*")
JOB_ID = re.compile(r"`([0-9a-f]{32})`")
LINK = re.compile(r"http://127\.0\.0\.1:\d+/chat/datasets/[A-Za-z0-9_.-]+")
# A bound, not a timing: ~10 s on a quiet machine (imports, e5), but 120 s was not enough at load 15.
STARTUP_S = 300


@pytest.fixture
def mocks() -> Iterator[tuple[feishu_mock.FeishuMock, dingtalk_mock.DingTalkMock, dict[str, str]]]:
    loop = LoopThread()
    feishu, dingtalk = feishu_mock.FeishuMock(), dingtalk_mock.DingTalkMock()
    env = {
        "FEISHU_APP_ID": feishu_mock.APP_ID,
        "FEISHU_APP_SECRET": feishu_mock.APP_SECRET,
        "FEISHU_VERIFICATION_TOKEN": feishu_mock.VERIFICATION_TOKEN,
        "FEISHU_ENCRYPT_KEY": feishu_mock.ENCRYPT_KEY,
        "DIALOGFORGE_FEISHU_API_URL": loop.run(feishu.start()),
        "DIALOGFORGE_FEISHU_PROGRESS_INTERVAL_S": "0.5",
        "DINGTALK_APP_KEY": dingtalk_mock.APP_KEY,
        "DINGTALK_APP_SECRET": dingtalk_mock.APP_SECRET,
        "DIALOGFORGE_DINGTALK_API_URL": loop.run(dingtalk.start()),
        "DIALOGFORGE_DINGTALK_PROGRESS_INTERVAL_S": "0.5",
    }
    yield feishu, dingtalk, env
    loop.run(feishu.stop())
    loop.run(dingtalk.stop())
    loop.close()


class Server:
    """One ``dialogforge serve`` process with the chat bots on."""

    def __init__(self, data_dir: Path, llm_url: str, chat_env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, **chat_env, "DIALOGFORGE_DATA_DIR": str(data_dir), "DIALOGFORGE_LLM_BASE_URL": llm_url}
        env["DIALOGFORGE_CHATOPS_PUBLIC_URL"] = self.base
        env.pop("DIALOGFORGE_API_KEYS", None)
        self.log = log.open("ab")
        command = [sys.executable, "-m", "service.cli", "serve", "--port", str(self.port)]
        self.process = subprocess.Popen(command, cwd=REPO, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        wait_until_up(f"{self.base}/healthz", self.process, timeout=STARTUP_S)

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
        return httpx.post(f"{self.base}{path}", content=body, headers=headers, timeout=10, trust_env=False)

    def get(self, url: str) -> httpx.Response:
        return httpx.get(url if url.startswith("http") else f"{self.base}{url}", timeout=30, trust_env=False)

    def stop(self, sig: signal.Signals) -> None:
        self.process.send_signal(sig)
        self.process.wait(30)
        self.log.close()


def wait(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def accepted_shown(texts: list[str]) -> int:
    counts = [int(m.group(1)) for t in texts for m in [PROGRESS.search(t)] if m]
    return max(counts, default=0)


def test_sigkill_mid_job_then_restart_keeps_updating_the_same_cards_and_delivers(
    tmp_path: Path, mocks: tuple[feishu_mock.FeishuMock, dingtalk_mock.DingTalkMock, dict[str, str]]
) -> None:
    feishu, dingtalk, chat_env = mocks
    log = tmp_path / "server.log"
    with fake_llm_server(0.2) as llm_url:
        first = Server(tmp_path / "data", llm_url, chat_env, log)
        mention = feishu_mock.message_event("生成温柔8条 sharegpt")
        body, headers = feishu_mock.signed_request(mention)
        assert first.post("/feishu/events", body, headers).status_code == 200
        body, headers = dingtalk_mock.signed(dingtalk_mock.callback("生成 温柔 8 条 alpaca"))
        assert first.post("/dingtalk/events", body, headers).status_code == 200
        wait(lambda: accepted_shown(feishu.texts()) >= 2 and accepted_shown(dingtalk.texts()) >= 2, 90, "progress")
        first.stop(signal.SIGKILL)
        killed_at = time.monotonic()
        assert accepted_shown(feishu.texts()) < N and not feishu.summary_sent(), "the job must be caught in the middle"
        (card,) = [r for r in feishu.calls_to("reply") if r.params["msg_type"] == "interactive"]
        (dt_card,) = dingtalk.calls_to("card_send")

        second = Server(tmp_path / "data", llm_url, chat_env, log)
        try:
            wait(lambda: feishu.summary_sent() and dingtalk.summary_sent(), 180, "both summaries after the restart")
            assert [r for r in feishu.calls_to("reply") if r.params["msg_type"] == "interactive"] == [card]
            later = [p for p in feishu.calls_to("patch") if p.at > killed_at]
            assert later and all(p.params["message_id"] == card.response["data"]["message_id"] for p in later)
            assert f"*{N}/{N}*" in json.loads(later[-1].params["content"])["elements"][0]["content"]
            job_id = JOB_ID.search(feishu.texts()[0]).group(1)  # type: ignore[union-attr]
            (uploaded,) = feishu.uploads.values()
            assert uploaded == second.get(f"/v1/jobs/{job_id}/dataset?format=sharegpt").content
            assert len(uploaded.splitlines()) == N

            assert dingtalk.calls_to("card_send") == [dt_card]
            dt_later = [u for u in dingtalk.calls_to("card_update") if u.at > killed_at]
            assert dt_later and all(u.params["cardBizId"] == dt_card.params["cardBizId"] for u in dt_later)
            dt_job = JOB_ID.search(dingtalk.texts()[0]).group(1)  # type: ignore[union-attr]
            link = LINK.search(next(t for t in dingtalk.texts() if LINK.search(t))).group(0)  # type: ignore[union-attr]
            download = second.get(link)
            assert download.status_code == 200
            assert download.content == second.get(f"/v1/jobs/{dt_job}/dataset?format=alpaca").content
            assert len(download.content.splitlines()) == N

            body, headers = feishu_mock.signed_request(mention)  # Feishu retries the first push (killed process)
            assert second.post("/feishu/events", body, headers).json() == {"msg": "duplicate"}
            assert second.get("/v1/jobs").json()["total"] == 2
        finally:
            second.stop(signal.SIGTERM)
    assert "following 2 jobs again after the restart" in log.read_text()
