"""The real app under uvicorn on loopback, in a thread (for Selenium, which is synchronous), and a review to serve."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn

from agents.schemas import Attempt, Lineage, Sample, Turn, Verdict
from agents.styles import resolve_style
from graph.datasets.store import DatasetStore
from graph.reviews.rounds import start_round
from graph.reviews.store import ReviewStore
from service.http.app import create_app
from service.settings import Settings
from tests.fakes import FakeEmbedder, fake_role_models

API_KEY = "review-test-key-0123456789"
PACK = resolve_style("bank-cs")


@contextmanager
def served(data_dir: Path, **settings: object) -> Iterator[str]:
    """Serve ``create_app`` (fake models, real everything else) and yield its base URL."""
    config = Settings(_env_file=None, data_dir=data_dir, api_keys=API_KEY, shutdown_grace_s=2, **settings)  # type: ignore[call-arg]
    app = create_app(config, models=fake_role_models(), embedder=FakeEmbedder())
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def dialogue(index: int, user: str | None = None) -> Sample:
    """A bank-cs sample with a judge verdict (scores 3-5)."""
    turns = [
        Turn(role="user", content=user or f"第{index}个问题：信用卡账单怎么查？"),
        Turn(role="assistant", content=f"您好，您可以在手机银行查看账单（第{index}条）。"),
    ]
    verdict = Verdict(
        scores={c.name: 3 + (index + n) % 3 for n, c in enumerate(PACK.rubric)},
        reasons={c.name: f"judge reason {c.name}" for c in PACK.rubric}, passed=True, prompt_name="anchored",
    )  # fmt: skip
    return Sample(
        id=f"d{index}", status="accepted", system="你是银行信用卡客服。", turns=turns,
        attempts=[Attempt(kind="generate", turns=turns, verdict=verdict)], lineage=Lineage(style="bank-cs"),
    )  # fmt: skip


def make_review(data_dir: Path, samples: list[Sample], reviewers: list[str], overlap: float) -> str:
    """Store ``samples`` as data set "bank" and put all of them up for review; return the ref."""
    datasets = DatasetStore(data_dir)
    with datasets.new_version("bank", operation="generate") as writer:
        writer.add(samples)
    round_ = start_round(
        datasets, ReviewStore(data_dir), "bank", fraction=1.0, reviewers=reviewers, overlap=overlap,
        criteria=PACK.rubric, style=PACK.name, strata=("origin", "style"),
    )  # fmt: skip
    return round_.ref
