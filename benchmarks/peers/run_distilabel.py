"""The side-by-side task in distilabel 1.5.3: per topic one generation call, one judge call, keep the JSON-judged.

A distilabel ``Pipeline``: ``LoadDataFromDicts`` (the topics) -> ``TextGeneration`` (the dialogue)
-> ``TextGeneration`` (the judge), each LLM step with its own ``OpenAILLM`` pointed at
``--base-url``. distilabel sends one step's input batch at once (``AsyncLLM._agenerate``
``asyncio.gather``s every row of the batch) and runs each step in its own process, so the two LLM
steps overlap: each gets ``input_batch_size = concurrency // 2`` to hold the calls in flight at the
server to ``--concurrency`` (with ``concurrency`` each, they would reach twice that). A sample is
kept when the judge's answer parses with ``json.loads``. No cache (``use_cache=False``; caches
under ``--workdir``), Hugging Face offline. Prints, last on stdout, one JSON line with the figures.

Runs in its own venv (no dialogforge import), made with
``python3 -m venv .data/peers/distilabel && .data/peers/distilabel/bin/pip install distilabel==1.5.3
openai==3.60.0 requests==2.34.2``: ``OpenAILLM`` needs openai, and importing ``distilabel.models``
needs requests (for its image-generation module); neither is a dependency of distilabel itself.
``seconds`` includes about 3 s of step start-up (distilabel polls the step processes
every 2.5 s, ``pipeline/base.py`` ``time.sleep(2.5)``) before the first call.

Run: ``.data/peers/distilabel/bin/python benchmarks/peers/run_distilabel.py --base-url
http://127.0.0.1:8111/v1 --topics topics.txt --concurrency 32 --workdir /tmp/distilabel-run``.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

GENERATE = "Write a short, empathetic customer-service dialogue (user and assistant) about: {{ topic }}"
JUDGE = "Score the criteria: empathy, style, correctness. Reply with JSON.\n\n{{ dialogue }}"


def _parses(text: Any) -> bool:
    """Whether the judge's answer is JSON."""
    try:
        json.loads(text)
    except (TypeError, ValueError):
        return False
    return True


def main() -> None:
    """Build the pipeline, run it once without cache, print the figures as the last stdout line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--topics", type=Path, required=True)
    parser.add_argument("--n", type=int, default=None, help="use the first N topics (default: all)")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--workdir", type=Path, required=True)
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    # distilabel's rich logs and prints (and its step processes') go to fd 1: send them to stderr
    result_out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    work = args.workdir.resolve()
    os.environ.update({
        "DISTILABEL_CACHE_DIR": str(work / "distilabel-cache"),
        "HF_HOME": str(work / "hf"), "HF_DATASETS_CACHE": str(work / "hf" / "datasets"),
        "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1",
        "DO_NOT_TRACK": "1", "OPENAI_API_KEY": "sk-fake",
    })  # fmt: skip

    # distilabel silences the "httpx" logger; this openai release logs each call through "httpx2"
    logging.getLogger("httpx2").setLevel(logging.WARNING)
    from distilabel.models.llms import OpenAILLM
    from distilabel.pipeline import Pipeline
    from distilabel.steps import LoadDataFromDicts
    from distilabel.steps.tasks import TextGeneration

    topics = [line.strip() for line in args.topics.read_text(encoding="utf-8").splitlines() if line.strip()]
    topics = topics[: args.n] if args.n else topics
    per_step = max(1, args.concurrency // 2)  # the two LLM steps run at once, each a batch at a time

    def llm() -> OpenAILLM:
        return OpenAILLM(model="fake", base_url=args.base_url, api_key="sk-fake")

    with Pipeline(name="side-by-side", cache_dir=work / "distilabel-cache") as pipeline:
        load = LoadDataFromDicts(data=[{"topic": topic} for topic in topics], batch_size=len(topics))
        generate = TextGeneration(
            name="generate", llm=llm(), template=GENERATE, columns=["topic"], input_batch_size=per_step,
            output_mappings={"generation": "dialogue", "model_name": "generate_model"},
            add_raw_output=False, add_raw_input=False,
        )  # fmt: skip
        judge = TextGeneration(
            name="judge", llm=llm(), template=JUDGE, columns=["dialogue"], input_batch_size=per_step,
            output_mappings={"generation": "judgement", "model_name": "judge_model"},
            add_raw_output=False, add_raw_input=False,
        )  # fmt: skip
        load >> generate >> judge

    started = time.perf_counter()
    distiset = pipeline.run(use_cache=False)
    seconds = time.perf_counter() - started
    rows = list(distiset["default"]["train"])
    generated = sum(1 for row in rows if row.get("dialogue"))
    kept = sum(1 for row in rows if row.get("dialogue") and _parses(row.get("judgement")))
    print(f"distilabel: {len(rows)} rows, {generated} generated, {kept} kept in {seconds:.2f} s", file=sys.stderr)
    print(json.dumps({
        "tool": "distilabel", "version": importlib.metadata.version("distilabel"), "topics": len(topics),
        "generated": generated, "kept": kept, "seconds": round(seconds, 3), "concurrency": args.concurrency,
        "how": f"Pipeline of two TextGeneration tasks with OpenAILLM (AsyncLLM: asyncio.gather over each batch), "
               f"input_batch_size={per_step} each since both steps run at once in their own processes",
    }), file=result_out, flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
