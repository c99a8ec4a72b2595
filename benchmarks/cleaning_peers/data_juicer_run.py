"""Data-Juicer on the planted-noise file, in its own virtual environment; prints one JSON line.

``python data_juicer_run.py DATA_DIR WORKERS [near-dedup|chain]`` (run by ``benchmarks.cleaning``):

- ``near-dedup``: ``document_minhash_deduplicator`` with ``tokenization: character`` (its advice
  for Chinese), 5-character shingles, 256 permutations, threshold 0.7;
- ``chain``: its operators closest to our default chain in front of it: ``fix_unicode_mapper``,
  ``whitespace_normalization_mapper``, ``clean_html_mapper``, ``clean_links_mapper``,
  ``clean_email_mapper``, ``text_length_filter``, ``character_repetition_filter``,
  ``special_characters_filter``, ``document_deduplicator`` (exact). It has no phone, ID or card
  redaction, no refusal or chit-chat filter; its language filter downloads a fastText model.

Text = the turns joined by newlines, one JSONL row per dialogue (written first; included in the
time, as are loading and exporting). ``np = WORKERS`` processes.
Install: ``python -m venv V && V/bin/pip install "torch==2.13.0" && V/bin/pip install
py-data-juicer==1.6.1 aiohttp ray scipy ftfy selectolax "torch==2.13.0"`` (torch first: an
unpinned torch pulls the CUDA build; the others are imported but not declared, and it would
install some of them itself, at run time, with uv).
"""

import json
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

MINHASH = {
    "document_minhash_deduplicator": {
        "tokenization": "character",
        "window_size": 5,
        "num_permutations": 256,
        "jaccard_threshold": 0.7,
        "lowercase": True,
    }
}
CHAIN = [
    {"fix_unicode_mapper": {}},
    {"whitespace_normalization_mapper": {}},
    {"clean_html_mapper": {}},
    {"clean_links_mapper": {}},
    {"clean_email_mapper": {}},
    {"text_length_filter": {"min_len": 2}},
    {"character_repetition_filter": {}},
    {"special_characters_filter": {}},
    {"document_deduplicator": {"lowercase": True, "ignore_non_character": True}},
]


def main() -> None:
    """Write the input, run the executor, and print speed, memory and the removed ids."""
    result_out = os.fdopen(os.dup(1), "w")  # Data-Juicer sends stdout to its logger
    data, workers = Path(sys.argv[1]), int(sys.argv[2])
    mode = sys.argv[3] if len(sys.argv) > 3 else "near-dedup"
    work = Path(tempfile.mkdtemp(prefix="dj-"))
    started = time.perf_counter()
    ids = []
    with (data / "dialogues.jsonl").open(encoding="utf-8") as rows, (work / "in.jsonl").open("w") as out:
        for line in rows:
            row = json.loads(line)
            out.write(json.dumps({"id": row["id"], "text": "\n".join(m["value"] for m in row["conversations"])}) + "\n")
            ids.append(row["id"])
    process = [*(CHAIN if mode == "chain" else []), MINHASH]
    config = {
        "project_name": "dialogforge-bench",
        "dataset_path": str(work / "in.jsonl"),
        "export_path": str(work / "out" / "kept.jsonl"),
        "np": workers,
        "text_keys": "text",
        "open_tracer": False,
        "process": process,
    }
    (work / "config.json").write_text(json.dumps(config))
    from data_juicer.config import init_configs
    from data_juicer.core import DefaultExecutor

    DefaultExecutor(init_configs(args=["--config", str(work / "config.json")])).run()
    with (work / "out" / "kept.jsonl").open(encoding="utf-8") as lines:
        kept = {json.loads(line)["id"] for line in lines}
    seconds = time.perf_counter() - started
    result = {
        "rows_in": len(ids),
        "rows_out": len(kept),
        "seconds": round(seconds, 1),
        "rows_per_s": round(len(ids) / seconds),
        "main_peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "removed": [row_id for row_id in ids if row_id not in kept],
    }
    print(json.dumps(result), file=result_out, flush=True)


if __name__ == "__main__":
    main()
