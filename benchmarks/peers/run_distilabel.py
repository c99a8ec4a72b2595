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

import importlib.metadata
import logging
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repo: peer_task needs only the standard library
from benchmarks.peers import peer_task as task


def main() -> None:
    """Build the pipeline, run it once without cache, print the figures as the last stdout line."""
    args = task.parse_args(__doc__.splitlines()[0] if __doc__ else "")
    # distilabel's rich logs and prints (and its step processes') go to fd 1: send them to stderr
    result_out = task.keep_stdout_for_result()
    work = args.workdir
    os.environ.update({
        "DISTILABEL_CACHE_DIR": str(work / "distilabel-cache"),
        "HF_HOME": str(work / "hf"), "HF_DATASETS_CACHE": str(work / "hf" / "datasets"), **task.OFFLINE_ENV,
        "OPENAI_API_KEY": "sk-fake",
    })  # fmt: skip

    # distilabel silences the "httpx" logger; this openai release logs each call through "httpx2"
    logging.getLogger("httpx2").setLevel(logging.WARNING)
    from distilabel.models.llms import OpenAILLM
    from distilabel.pipeline import Pipeline
    from distilabel.steps import LoadDataFromDicts
    from distilabel.steps.tasks import TextGeneration

    topics = task.read_topics(args)
    per_step = max(1, args.concurrency // 2)  # the two LLM steps run at once, each a batch at a time

    def llm() -> OpenAILLM:
        return OpenAILLM(model="fake", base_url=args.base_url, api_key="sk-fake")

    with Pipeline(name="side-by-side", cache_dir=work / "distilabel-cache") as pipeline:
        load = LoadDataFromDicts(data=[{"topic": topic} for topic in topics], batch_size=len(topics))
        generate = TextGeneration(
            name="generate", llm=llm(), template=task.jinja(task.GENERATE), columns=["topic"],
            input_batch_size=per_step,
            output_mappings={"generation": "dialogue", "model_name": "generate_model"},
            add_raw_output=False, add_raw_input=False,
        )  # fmt: skip
        judge = TextGeneration(
            name="judge", llm=llm(), template=task.jinja(task.JUDGE), columns=["dialogue"], input_batch_size=per_step,
            output_mappings={"generation": "judgement", "model_name": "judge_model"},
            add_raw_output=False, add_raw_input=False,
        )  # fmt: skip
        load >> generate >> judge

    started = time.perf_counter()
    distiset = pipeline.run(use_cache=False)
    seconds = time.perf_counter() - started
    rows = list(distiset["default"]["train"])
    generated = sum(1 for row in rows if row.get("dialogue"))
    kept = sum(1 for row in rows if row.get("dialogue") and task.parses(row.get("judgement")))
    print(f"distilabel: {len(rows)} rows, {generated} generated, {kept} kept in {seconds:.2f} s", file=sys.stderr)
    how = (
        "Pipeline of two TextGeneration tasks with OpenAILLM (AsyncLLM: asyncio.gather over each batch), "
        f"input_batch_size={per_step} each since both steps run at once in their own processes"
    )
    version = importlib.metadata.version("distilabel")
    task.print_result(result_out, "distilabel", version, len(topics), generated, kept, seconds=round(seconds, 3),
                 concurrency=args.concurrency, how=how)  # fmt: skip


if __name__ == "__main__":
    main()
