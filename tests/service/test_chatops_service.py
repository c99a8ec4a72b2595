"""Chat layer without sockets: bounds per user and chat, status and cancel from the same chat only, links, store."""

from __future__ import annotations

import stat
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from service.chatops.bounds import Bounds, ChatAdmission, Seat
from service.chatops.commands import Generate
from service.chatops.errors import ChatOpsError
from service.chatops.links import DownloadLinks, InvalidLinkError, link_secret
from service.chatops.service import ChatContext
from service.chatops.store import ChatJob, ChatJobStore
from service.jobs.admission import Admission
from service.jobs.errors import LimitExceededError
from service.jobs.kinds.generate import GenerateJobRequest
from service.jobs.models import JobRequest
from tests.service.chat_fakes import ALICE, BOB_SAME_CHANNEL, CAROL_ELSEWHERE, FakeBackend, chat_service


async def test_jobs_per_user_and_per_channel_are_bounded(tmp_path: Path) -> None:
    chat = chat_service(tmp_path, max_jobs_per_user=1, max_jobs_per_channel=2)
    first = await chat.start(Generate("gentle", 10), ALICE, {})
    with pytest.raises(ChatOpsError, match="you already have 1 jobs running"):
        await chat.start(Generate("gentle", 10), ALICE, {})
    await chat.start(Generate("gentle", 10), BOB_SAME_CHANNEL, {})
    with pytest.raises(ChatOpsError, match="this channel has 2 jobs running"):
        await chat.start(Generate("gentle", 10), ChatContext("slack", "T1", "dave", "C1"), {})
    await chat.start(Generate("gentle", 10), CAROL_ELSEWHERE, {})
    await chat.delivered(first.job_id)
    await chat.start(Generate("gentle", 10), ALICE, {})
    assert chat.admission.running == 3


async def test_samples_in_running_jobs_are_bounded_per_user_and_channel(tmp_path: Path) -> None:
    bounds = {"max_n_per_user": 100, "max_n_per_channel": 150, "max_jobs_per_user": 5, "max_jobs_per_channel": 5}
    chat = chat_service(tmp_path, **bounds)
    await chat.start(Generate("gentle", 80), ALICE, {})
    with pytest.raises(ChatOpsError, match="you have 80 samples in running jobs and the limit is 100: ask for at most"):
        await chat.start(Generate("gentle", 30), ALICE, {})
    await chat.start(Generate("gentle", 20), ALICE, {})
    with pytest.raises(ChatOpsError, match=r"this channel has 100 samples .* at most 50"):
        await chat.start(Generate("gentle", 60), BOB_SAME_CHANNEL, {})


def test_a_reservation_is_counted_until_confirmed_or_released() -> None:
    admission = ChatAdmission(Bounds(max_jobs_per_user=1))
    seat = Seat("slack:T1:alice", "slack:T1:C1", 5)
    ticket = admission.reserve(seat)
    with pytest.raises(ChatOpsError):  # a second request arriving meanwhile sees the first one's place
        admission.reserve(seat)
    admission.release(ticket)
    admission.confirm(admission.reserve(seat), "job1")
    admission.adopt("job2", seat)  # resumed after a restart: counted even over the bound
    assert admission.running == 2


def test_chat_bounds_are_pools_of_the_job_services_admission_taken_all_or_none() -> None:
    shared = Admission()  # the job manager's: its concurrent-jobs pool lives beside these
    admission = ChatAdmission(Bounds(max_jobs_per_user=5, max_n_per_channel=10), shared)
    alice = Seat("slack:T1:alice", "slack:T1:C1", 6)
    admission.reserve(alice)
    with pytest.raises(ChatOpsError, match=r"this channel has 6 samples .* at most 4"):
        admission.reserve(alice)
    assert shared.held("chat:user-jobs:slack:T1:alice") == 1  # the refused request took no place
    assert shared.held("chat:channel-n:slack:T1:C1") == 6


def test_requests_from_many_threads_at_once_take_exactly_the_places_there_are() -> None:
    admission = ChatAdmission(Bounds(max_jobs_per_user=3))
    seat = Seat("feishu:t:ou_1", "feishu:t:oc_1", 1)
    start = threading.Barrier(8)

    def reserve() -> bool:
        start.wait()
        try:
            admission.reserve(seat)
        except ChatOpsError:
            return False
        return True

    with ThreadPoolExecutor(8) as pool:
        admitted = list(pool.map(lambda _: reserve(), range(8)))
    assert admitted.count(True) == 3 and admission.running == 3


async def test_a_refused_job_frees_its_reservation(tmp_path: Path) -> None:
    backend = FakeBackend()
    chat = chat_service(tmp_path, backend, max_jobs_per_user=1)

    async def refuse(request: JobRequest, *, key: str | None = None) -> None:
        raise LimitExceededError("4 jobs are running (max 4)")

    backend.start = refuse  # type: ignore[assignment,method-assign]
    with pytest.raises(ChatOpsError, match="4 jobs are running"):
        await chat.start(Generate("gentle", 5), ALICE, {})
    assert chat.admission.running == 0


def test_max_n_is_the_smallest_bound(tmp_path: Path) -> None:
    assert chat_service(tmp_path, max_n_per_user=50).max_n == 50
    assert chat_service(tmp_path).max_n == 400  # the backend's max_job_n
    with pytest.raises(ValueError, match="at most 50"):
        chat_service(tmp_path, max_n_per_user=50).parse("gentle 51")


async def test_status_and_cancel_answer_only_in_the_chat_that_started_the_job(tmp_path: Path) -> None:
    backend = FakeBackend()
    backend.status = "running"
    chat = chat_service(tmp_path, backend)
    job = await chat.start(Generate("gentle", 5), ALICE, {})
    for ctx in (CAROL_ELSEWHERE, ChatContext("feishu", "T1", "alice", "C1")):  # other chat, other platform
        with pytest.raises(ChatOpsError, match="there is no job `job1` started from this chat"):
            await chat.status(job.job_id, ctx)
        with pytest.raises(ChatOpsError, match="there is no job `job1` started from this chat"):
            await chat.cancel(job.job_id, ctx)
    assert backend.cancelled == []
    assert "(gentle, running): *2/5*" in await chat.status(job.job_id, BOB_SAME_CHANNEL)
    assert "Cancelling job `job1`" in await chat.cancel(job.job_id, BOB_SAME_CHANNEL)
    backend.started.append(GenerateJobRequest(style="gentle", n=1))  # job2: started over HTTP, not from chat
    with pytest.raises(ChatOpsError, match="there is no job `job2` started from this chat"):
        await chat.status("job2", ALICE)
    backend.status = "completed"
    with pytest.raises(ChatOpsError, match="already ended"):
        await chat.cancel(job.job_id, ALICE)


async def test_status_of_an_ended_job_gives_a_fresh_download_link(tmp_path: Path) -> None:
    chat = chat_service(tmp_path)
    job = await chat.start(Generate("gentle", 2, "alpaca"), ALICE, {})
    text = await chat.status(job.job_id, ALICE)
    url = text.rsplit(" ", 1)[-1]
    assert url.startswith("https://df.example/chat/datasets/")
    link = chat.links.check(url.rsplit("/", 1)[-1])
    assert (link.job_id, link.format) == ("job1", "alpaca")
    with pytest.raises(ChatOpsError, match="could not make a gentle sample: it timed out"):
        await chat.sample("gentle")
    content, count = await chat.dataset("job1", "alpaca")
    assert count == 2 and content.decode().count("\n") == 2


def test_links_expire_and_cannot_be_forged(monkeypatch: pytest.MonkeyPatch) -> None:
    links = DownloadLinks("secret-one", ttl_s=60)
    token = links.url("job1", "sharegpt").rsplit("/", 1)[-1]
    assert links.check(token).job_id == "job1"
    with pytest.raises(InvalidLinkError):
        DownloadLinks("secret-two", ttl_s=60).check(token)
    with pytest.raises(InvalidLinkError):
        links.check(token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 120)
    with pytest.raises(InvalidLinkError, match="expired"):
        links.check(token)


def test_the_link_secret_is_made_once_and_kept_private(tmp_path: Path) -> None:
    first = link_secret(tmp_path, None)
    assert link_secret(tmp_path, None) == first and len(first) >= 32
    assert stat.S_IMODE((tmp_path / "chat-link.key").stat().st_mode) == 0o600
    assert link_secret(tmp_path, "configured") == "configured"


def test_the_store_keeps_followers_across_connections(tmp_path: Path) -> None:
    store = ChatJobStore(tmp_path)
    store.add(ChatJob("j1", "slack", "u", "c", "gentle", 5, "sharegpt", {"channel": "C1"}))
    store.add(ChatJob("j2", "feishu", "u", "c", "gentle", 5, "alpaca"))
    store.set_posted("j1", {"channel": "C1", "ts": "1.2"})
    store.finish("j2")
    store.close()
    again = ChatJobStore(tmp_path)
    (following,) = again.following(10)
    assert following.job_id == "j1" and following.posted and following.anchor == {"channel": "C1", "ts": "1.2"}
    assert again.get("j2") is not None and not again.get("j2").following  # type: ignore[union-attr]
    assert again.get("nope") is None


async def test_the_delivery_is_the_jobs_client_key(tmp_path: Path) -> None:
    backend = FakeBackend()
    chat = chat_service(tmp_path, backend)
    await chat.start(Generate("gentle", 5), ALICE, {}, "feishu:ev-1")
    await chat.start(Generate("gentle", 5), ALICE, {})
    assert backend.keys == ["chat:feishu:ev-1", None]
