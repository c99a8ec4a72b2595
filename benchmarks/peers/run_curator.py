"""The side-by-side task in bespokelabs-curator 0.1.31: per topic a generation call, a judge call, keep the JSON-judged.

Two ``curator.LLM`` stages, both ``backend="openai"`` pointed at ``--base-url`` (model ``fake``):
the generation stage over the topics, then the judge stage over its output. A sample is kept when
the judge's answer parses with ``json.loads``. The online processor admits a request when its
``max_concurrent_requests`` semaphore, its requests-per-minute bucket and its tokens-per-minute
bucket all allow; both buckets start nearly empty (1 request, 0 tokens) and refill at rate/60 per
second, so RPM and TPM are set far above need (1e6 and 1e9) and ``max_concurrent_requests =
--concurrency`` is what holds the calls in flight. No cache (``CURATOR_DISABLE_CACHE=1``, which
gives each run a random fingerprint, and ``CURATOR_CACHE_DIR`` under ``--workdir``).

Offline settings, set before curator is imported: ``LITELLM_LOCAL_MODEL_COST_MAP=True`` (litellm's
bundled price map, no download), ``TELEMETRY_ENABLED=false`` (curator's PostHog events),
``CURATOR_VIEWER`` unset (no hosted viewer), HF offline, and ``TIKTOKEN_CACHE_DIR`` at litellm's
bundled ``litellm_core_utils/tokenizers``: curator's token estimates call
``tiktoken.get_encoding("cl100k_base")``, which would otherwise download the BPE file (litellm sets
that variable only when its ``default_encoding`` module is imported, which curator's path does not
do first). Each stage's processor, when built, POSTs one probe (``messages: []``) to the server to read
rate-limit headers (``get_header_based_rate_limits``), so the server counts 2 calls more than
2 x topics; ``seconds`` starts before the first ``LLM`` is built and so includes both probes
(about 1 s each at the fake server's latency). The processor module (litellm, tiktoken) is
imported before the clock starts.

Runs in its own venv (no dialogforge import), made with ``python3 -m venv
.data/peers/bespokelabs-curator && .data/peers/bespokelabs-curator/bin/pip install
bespokelabs-curator==0.1.31`` (nothing else needed).

Run: ``.data/peers/bespokelabs-curator/bin/python benchmarks/peers/run_curator.py --base-url
http://127.0.0.1:8121/v1 --topics topics.txt --concurrency 32 --workdir /tmp/curator-run``.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import itertools
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repo: peer_task needs only the standard library
from benchmarks.peers import peer_task as task


def main() -> None:
    """Run the two stages once without cache, print the figures as the last stdout line."""
    args = task.parse_args(__doc__.splitlines()[0] if __doc__ else "")
    work = args.workdir
    # curator's logs and rich status go to fd 1: send them to stderr, keep the result line for stdout
    result_out = task.keep_stdout_for_result()
    os.environ.pop("CURATOR_VIEWER", None)
    os.environ.update({
        "CURATOR_CACHE_DIR": str(work / "curator-cache"), "CURATOR_DISABLE_CACHE": "1",
        "CURATOR_DISABLE_RICH_DISPLAY": "1", "TELEMETRY_ENABLED": "false", "DO_NOT_TRACK": "1",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True", "LITELLM_TELEMETRY": "False",
        "HF_HOME": str(work / "hf"), "HF_DATASETS_CACHE": str(work / "hf" / "datasets"),
        **task.OFFLINE_ENV,
        "OPENAI_API_KEY": "sk-fake",
    })  # fmt: skip
    # curator estimates tokens with tiktoken cl100k_base; litellm bundles that file: read it from there
    litellm_spec = importlib.util.find_spec("litellm")
    if litellm_spec and litellm_spec.submodule_search_locations:
        bundled = Path(next(iter(litellm_spec.submodule_search_locations))) / "litellm_core_utils" / "tokenizers"
        os.environ["TIKTOKEN_CACHE_DIR"] = str(bundled)
    # the processor module is imported lazily by the first LLM(); import it before the clock, as the
    # other peers import theirs
    import bespokelabs.curator.request_processor.online.openai_online_request_processor  # noqa: F401
    from bespokelabs import curator

    topics = task.read_topics(args)
    backend_params: dict[str, Any] = {
        "base_url": args.base_url, "api_key": "sk-fake", "max_concurrent_requests": args.concurrency,
        "max_requests_per_minute": 1_000_000, "max_tokens_per_minute": 1_000_000_000,
        "max_retries": 1, "require_all_responses": False,
    }  # fmt: skip

    class Generate(curator.LLM):
        def prompt(self, input: dict[str, Any]) -> str:
            return task.GENERATE.format(topic=input["topic"])

        def parse(self, input: dict[str, Any], response: str) -> dict[str, Any]:
            return {"topic": input["topic"], "generation": response}

    class Judge(curator.LLM):
        def prompt(self, input: dict[str, Any]) -> str:
            return task.JUDGE.format(dialogue=input["generation"])

        def parse(self, input: dict[str, Any], response: str) -> dict[str, Any]:
            return {"topic": input["topic"], "generation": input["generation"], "judgement": response}

    marks = [time.perf_counter()]
    generate = Generate(model_name="fake", backend="openai", backend_params=backend_params)
    marks.append(time.perf_counter())
    generated_rows = [row for row in generate([{"topic": topic} for topic in topics]).dataset if row.get("generation")]
    marks.append(time.perf_counter())
    judge = Judge(model_name="fake", backend="openai", backend_params=backend_params)
    marks.append(time.perf_counter())
    judged_rows = list(judge(generated_rows).dataset) if generated_rows else []
    marks.append(time.perf_counter())
    seconds = marks[-1] - marks[0]
    kept = sum(1 for row in judged_rows if task.parses(row.get("judgement")))
    build_g, run_g, build_j, run_j = (b - a for a, b in itertools.pairwise(marks))
    print(
        f"curator: {len(generated_rows)} generated (LLM() {build_g:.2f} s, run {run_g:.2f} s), {len(judged_rows)} "
        f"judged (LLM() {build_j:.2f} s, run {run_j:.2f} s), {kept} kept, {seconds:.2f} s in all",
        file=sys.stderr,
    )
    how = (
        f"backend_params max_concurrent_requests={args.concurrency} (an asyncio.Semaphore in the online processor), "
        "with max_requests_per_minute=1e6 and max_tokens_per_minute=1e9 so neither bucket binds"
    )
    version = importlib.metadata.version("bespokelabs-curator")
    task.print_result(result_out, "curator", version, len(topics), len(generated_rows), kept, seconds=round(seconds, 3),
                 concurrency=args.concurrency, how=how)  # fmt: skip


if __name__ == "__main__":
    main()
