"""The seed-000 way of making data, reproduced as the baseline the benchmarks compare against.

Article 000: the style's system prompt plus its few-shot examples, a user input drawn at random
from six fixed strings, one request at a time (max 100 tokens), and a filter: non-empty, 5-150
characters, a style keyword, and embedding similarity to the style's first seed reply above 0.40.
The article used text2vec-base-chinese; here the bundled e5 embedder stands in for it.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field

import httpx
import numpy as np

from agents.embeddings import Embedder
from agents.styles import StylePack

USER_INPUTS = ["今天心情不太好", "推荐个电影吧", "怎么才能早睡早起", "养猫好还是养狗好", "工作压力好大", "最近总是失眠"]
SIMILARITY_THRESHOLD = 0.40
MAX_CALLS_PER_SAMPLE = 25  # the article has no bound; most of this model's replies fail its filter


@dataclass
class BaselineRun:
    """What the baseline made and what it cost."""

    accepted: list[tuple[str, str]] = field(default_factory=list)
    calls: int = 0
    tokens: int = 0
    seconds: float = 0.0


def is_valid_reply(pack: StylePack, reply: str, embedder: Embedder) -> bool:
    """Apply seed 000's filter to one reply."""
    if not reply or not reply.strip() or not 5 <= len(reply) <= 150:
        return False
    if pack.markers and not any(marker in reply for marker in pack.markers):
        return False
    vectors = embedder.embed([pack.examples[0].assistant, reply])
    return float(np.dot(vectors[0], vectors[1])) > SIMILARITY_THRESHOLD


def run_baseline(base_url: str, model: str, pack: StylePack, n: int, embedder: Embedder, seed: int = 0) -> BaselineRun:
    """Call the model one request at a time until ``n`` replies pass the filter (bounded number of calls)."""
    rng = random.Random(seed)
    messages = [{"role": "system", "content": pack.system_prompt}]
    for example in pack.examples:
        messages += [{"role": "user", "content": example.user}, {"role": "assistant", "content": example.assistant}]
    run = BaselineRun()
    started = time.perf_counter()
    with httpx.Client(timeout=600) as client:
        while len(run.accepted) < n and run.calls < MAX_CALLS_PER_SAMPLE * n:
            user = rng.choice(USER_INPUTS)
            body = {
                "model": model,
                "messages": [*messages, {"role": "user", "content": user}],
                "temperature": pack.temperature,
                "max_tokens": 100,
            }
            answer = client.post(f"{base_url}/chat/completions", json=body).json()
            run.calls += 1
            run.tokens += int(answer.get("usage", {}).get("total_tokens", 0))
            reply = answer["choices"][0]["message"]["content"] or ""
            if is_valid_reply(pack, reply, embedder):
                run.accepted.append((user, reply))
    run.seconds = time.perf_counter() - started
    return run
