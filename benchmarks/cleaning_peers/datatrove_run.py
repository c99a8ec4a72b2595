"""datatrove on the planted-noise file, in its own virtual environment; prints one JSON line.

``python datatrove_run.py DATA_DIR WORKERS [near-dedup|chain]`` (run by ``benchmarks.cleaning``):

- ``near-dedup``: its MinHash deduplication, all 4 stages (signatures, buckets, clusters, filter),
  with its defaults (5-gram shingles of words, 14 buckets x 8 hashes) and its Chinese word
  tokenizer (``language="zh"``, spaCy + jieba) since most rows are Chinese;
- ``chain``: the closest it has to our default chain in front of the same deduplication:
  ``FTFYFormatter`` (normalize), ``PIIFormatter`` (e-mails and IPs: it has no phone, ID or card
  detector), ``GopherRepetitionFilter`` (repetition). Its language filter is left out: it
  downloads a fastText model at run time, which fails offline; so are HTML (it extracts HTML
  pages with trafilatura, not markup inside text), refusals and chit-chat (no equivalents).

Text = the dialogue's turns joined by newlines. Reading and writing JSONL is included in the time.
Install: ``python -m venv V && V/bin/pip install "datatrove[processing]==0.10.1" spacy jieba``.
"""

import gzip
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.dedup import MinhashDedupBuckets, MinhashDedupCluster, MinhashDedupFilter, MinhashDedupSignature
from datatrove.pipeline.dedup.minhash import MinhashConfig
from datatrove.pipeline.filters import GopherRepetitionFilter
from datatrove.pipeline.formatters import FTFYFormatter, PIIFormatter
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter


def adapter(self: object, data: dict, path: str, id_in_file: int) -> dict:
    """Turn one benchmark row into a datatrove document: the turns joined by newlines."""
    return {"text": "\n".join(m["value"] for m in data["conversations"]), "id": data["id"]}


def read_ids(folder: Path) -> list[str]:
    """Return the ids of the documents a JsonlWriter wrote into a folder."""
    ids = []
    for path in folder.glob("*"):
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as lines:
            ids += [json.loads(line)["id"] for line in lines]
    return ids


def main() -> None:
    """Run the stages and print speed, memory and the removed ids."""
    data, workers = Path(sys.argv[1]), int(sys.argv[2])
    mode = sys.argv[3] if len(sys.argv) > 3 else "near-dedup"
    work = Path(tempfile.mkdtemp(prefix="dt-"))
    config = MinhashConfig()
    reader = JsonlReader(str(data), glob_pattern="dialogues.jsonl", adapter=adapter)
    first = [reader]
    if mode == "chain":
        rejected = JsonlWriter(str(work / "rejected"))
        first += [FTFYFormatter(), PIIFormatter(), GopherRepetitionFilter(language="zh", exclusion_writer=rejected)]
        first += [JsonlWriter(str(work / "kept-by-filters"))]
    signatures = MinhashDedupSignature(output_folder=str(work / "sigs"), config=config, language="zh")
    second = JsonlReader(str(work / "kept-by-filters")) if mode == "chain" else reader
    stages = [
        [*first, signatures],
        [MinhashDedupBuckets(input_folder=str(work / "sigs"), output_folder=str(work / "buckets"), config=config)],
        [MinhashDedupCluster(input_folder=str(work / "buckets"), output_folder=str(work / "remove"), config=config)],
        [
            second,
            MinhashDedupFilter(input_folder=str(work / "remove"), exclusion_writer=JsonlWriter(str(work / "removed"))),
            JsonlWriter(str(work / "kept")),
        ],
    ]
    tasks = [workers, config.num_buckets, 1, workers]
    started = time.perf_counter()
    for index, (pipeline, count) in enumerate(zip(stages, tasks, strict=True)):
        LocalPipelineExecutor(
            pipeline=pipeline, tasks=count, workers=min(workers, count), logging_dir=str(work / f"logs{index}")
        ).run()
    seconds = time.perf_counter() - started
    with (data / "dialogues.jsonl").open(encoding="utf-8") as lines:
        rows = sum(1 for _ in lines)
    result = {
        "rows_in": rows,
        "rows_out": len(read_ids(work / "kept")),
        "seconds": round(seconds, 1),
        "rows_per_s": round(rows / seconds),
        "main_peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "removed": read_ids(work / "removed"),
    }
    if mode == "chain":
        result["dropped_by_filters"] = len(read_ids(work / "rejected"))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
