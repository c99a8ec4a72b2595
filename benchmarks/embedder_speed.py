"""How many texts per second the bundled e5 embeds here, by batch size and OpenMP threads.

The texts are the fake LLM's user turns and replies (20-60 characters of Chinese), the kind the
loop embeds. This is the capacity the pipeline-overhead benchmark runs into at high concurrency.
Run: ``python -m benchmarks.embedder_speed``.
"""

from __future__ import annotations

import random
import time

from agents.embeddings import E5Embedder
from benchmarks.fake_llm import ZH_WORDS, _reply, _user_turn


def sample_texts(count: int) -> list[str]:
    """User turns and replies like the loop's, all different (nothing is cached by the engine)."""
    rng = random.Random(0)
    texts = []
    for index in range(count // 2):
        topic = "和".join(rng.sample(ZH_WORDS, 2))
        texts += [_user_turn(topic, True, rng), _reply(f"{topic}{index}", True, "呢")]
    return texts


def main() -> None:
    """Print texts/s for every (threads, batch size) pair."""
    texts = sample_texts(200)
    print(f"{len(texts)} texts, mean {sum(map(len, texts)) / len(texts):.0f} characters")
    print("| OpenMP threads | batch size | texts/s |")
    print("|---|---|---|")
    for threads in (1, 2):
        for batch_size in (1, 8, 32):
            embedder = E5Embedder(batch_size=batch_size, num_threads=threads)
            embedder.embed(texts[:2])  # warm up
            started = time.perf_counter()
            embedder.embed(texts)
            print(f"| {threads} | {batch_size} | {len(texts) / (time.perf_counter() - started):.0f} |")


if __name__ == "__main__":
    main()
