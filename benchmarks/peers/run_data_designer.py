"""The side-by-side task in data-designer 0.9.7: per topic one generation call, one judge call, keep the JSON-judged.

A ``DataDesignerConfigBuilder`` with the topics as a ``DataFrameSeedSource`` (ORDERED, one record
per topic) -> ``LLMTextColumnConfig`` ``dialogue`` -> ``LLMTextColumnConfig`` ``judge``, both on one
``ModelConfig`` (alias ``fake``, model ``fake``) on a ``ModelProvider`` (``provider_type="openai"``,
endpoint ``--base-url``, key ``sk-fake``), run with ``DataDesigner.create``. The judge is a text
column, not ``LLMJudgeColumnConfig``: that one needs ``scores`` and parses the answer into its own
score schema (retrying failed parses, i.e. extra calls), which the fake server's answers do not
follow. A record is kept when its ``judge`` text parses with ``json.loads``.

Concurrency: data-designer's request-admission controller caps in-flight calls per provider+model
at the ``max_parallel_requests`` of its aliases (``engine/models/request_admission/controller.py``
``_GlobalCapState.register_alias``: ``effective_max = min(...)``); both columns share the one alias,
so ``ChatCompletionInferenceParams(max_parallel_requests=--concurrency)`` holds the whole run to
that many. ``RunConfig(buffer_size=N)`` puts all records in one row group, and the async
scheduler's task cap (``max_in_flight_tasks``) is raised to at least ``2 * concurrency``; the AIMD
tuning is left at its defaults (no startup ramp; it only lowers the limit on 429s). Early shutdown
on errors is off (``disable_early_shutdown=True``) so every record is tried, as in the other peers.

``seconds`` runs from just before ``create`` until its ``on_batch_complete`` callback (the one row
group written to parquet), so it leaves out data-designer's profiling after generation. Set for a
run without network or side traffic: ``NEMO_TELEMETRY_ENABLED=false`` (else usage events are posted
to events.telemetry.data.nvidia.com), ``RunConfig(otel_metrics_port=None)`` (no Prometheus
endpoint on 9464), ``skip_health_check=True`` (no probe call to the server before the run),
``DATA_DESIGNER_HOME`` under ``--workdir``, ``DISABLE_DATA_DESIGNER_PLUGINS=true``,
``DATA_DESIGNER_DISABLE_VERSION_CHECK=1``, Hugging Face offline. The profiler that ``create`` runs
after generation counts tokens with tiktoken, which downloads ``cl100k_base`` from
openaipublic.blob.core.windows.net and has no off switch: the script replaces
``data_designer.engine.utils.token_counting.get_cl100k_base_tokenizer`` with one that raises, so
the token statistics come out as "calculation failed" (as they do offline anyway) with no download.

Runs in its own venv (no dialogforge import), made with ``python3 -m venv .data/peers/data-designer
&& .data/peers/data-designer/bin/pip install data-designer==0.9.7`` (nothing extra needed).

Run: ``.data/peers/data-designer/bin/python benchmarks/peers/run_data_designer.py --base-url
http://127.0.0.1:8131/v1 --topics topics.txt --concurrency 32 --workdir /tmp/data-designer-run``.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repo: peer_task needs only the standard library
from benchmarks.peers import peer_task as task


def main() -> None:
    """Build the config, run ``create`` once, print the figures as the last stdout line."""
    args = task.parse_args(__doc__.splitlines()[0] if __doc__ else "")
    work = args.workdir
    os.environ.update({
        "NEMO_TELEMETRY_ENABLED": "false", "DATA_DESIGNER_HOME": str(work / "home"),
        "DISABLE_DATA_DESIGNER_PLUGINS": "true", "DATA_DESIGNER_DISABLE_VERSION_CHECK": "1",
        "HF_HOME": str(work / "hf"), **task.OFFLINE_ENV,
    })  # fmt: skip
    # data-designer logs to stdout via its own handler: keep stdout for the result line
    result_out = task.keep_stdout_for_result()
    sys.stdout = sys.stderr

    import data_designer.config as dd
    import pandas as pd
    from data_designer.engine.utils import token_counting
    from data_designer.interface.data_designer import DataDesigner

    def _no_tokenizer() -> Any:
        raise RuntimeError("tiktoken cl100k_base download disabled (offline benchmark)")

    # the post-run profiler counts tokens with tiktoken, which downloads cl100k_base; no setting stops it
    token_counting.get_cl100k_base_tokenizer = _no_tokenizer

    topics = task.read_topics(args)
    n = len(topics)

    provider = dd.ModelProvider(name="fake-server", endpoint=args.base_url, provider_type="openai", api_key="sk-fake")
    model = dd.ModelConfig(
        alias="fake", model="fake", provider="fake-server", skip_health_check=True,
        inference_parameters=dd.ChatCompletionInferenceParams(max_parallel_requests=args.concurrency),
    )  # fmt: skip
    builder = dd.DataDesignerConfigBuilder(model_configs=[model])
    builder.with_seed_dataset(dd.DataFrameSeedSource(df=pd.DataFrame({"topic": topics})))
    builder.add_column(dd.LLMTextColumnConfig(name="dialogue", prompt=task.jinja(task.GENERATE), model_alias="fake"))
    builder.add_column(dd.LLMTextColumnConfig(name="judge", prompt=task.jinja(task.JUDGE), model_alias="fake"))

    designer = DataDesigner(artifact_path=work / "artifacts", model_providers=[provider])
    designer.set_run_config(
        dd.RunConfig(
            buffer_size=n, max_in_flight_tasks=max(1024, 2 * args.concurrency),
            otel_metrics_port=None, disable_early_shutdown=True,
        )
    )  # fmt: skip
    done: list[float] = []
    start = time.perf_counter()
    result = designer.create(
        builder, num_records=n, dataset_name="peer-run", on_batch_complete=lambda _: done.append(time.perf_counter())
    )
    total = time.perf_counter() - start
    seconds = (done[-1] if done else time.perf_counter()) - start
    frame = result.load_dataset()
    generated = int(frame["dialogue"].notna().sum()) if "dialogue" in frame else 0
    kept = int(frame["judge"].map(task.parses).sum()) if "judge" in frame else 0
    logging.getLogger(__name__).info("create() took %.2f s in all (with profiling), %d rows", total, len(frame))
    how = (
        f"ChatCompletionInferenceParams(max_parallel_requests={args.concurrency}) on the one model alias both "
        f"columns use (the request-admission cap per provider+model), RunConfig(buffer_size={n}) for one row group"
    )
    version = importlib.metadata.version("data-designer")
    task.print_result(result_out, "data-designer", version, n, generated, kept, seconds=round(seconds, 3),
                 concurrency=args.concurrency, how=how)  # fmt: skip


if __name__ == "__main__":
    main()
