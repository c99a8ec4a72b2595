"""datatrove's MinHash deduplication (its 4 stages) on the planted-noise file; prints one JSON line.

Run by ``benchmarks.cleaning`` with the datatrove virtual environment's Python:
``python datatrove_run.py DATA_DIR WORKERS``. Text = the dialogue's turns joined by newlines;
datatrove's defaults (5-gram shingles of words, 14 buckets x 8 hashes) as its README uses them.
"""

import json
import resource
import sys
import tempfile
import time
from pathlib import Path

from datatrove.executor import LocalPipelineExecutor
from datatrove.pipeline.dedup import MinhashDedupBuckets, MinhashDedupCluster, MinhashDedupFilter, MinhashDedupSignature
from datatrove.pipeline.dedup.minhash import MinhashConfig
from datatrove.pipeline.readers import JsonlReader
from datatrove.pipeline.writers import JsonlWriter


def adapter(self: object, data: dict, path: str, id_in_file: int) -> dict:
    """Turn one benchmark row into a datatrove document: the turns joined by newlines."""
    return {"text": "\n".join(m["value"] for m in data["conversations"]), "id": data["id"]}


def main() -> None:
    """Run the four stages and print speed, memory and the removed ids."""
    data, workers = Path(sys.argv[1]), int(sys.argv[2])
    work = Path(tempfile.mkdtemp(prefix="dt-"))
    config = MinhashConfig()
    reader = JsonlReader(str(data), glob_pattern="dialogues.jsonl", adapter=adapter)
    started = time.perf_counter()
    stages = [
        [reader, MinhashDedupSignature(output_folder=str(work / "sigs"), config=config, language="zh")],
        [MinhashDedupBuckets(input_folder=str(work / "sigs"), output_folder=str(work / "buckets"), config=config)],
        [MinhashDedupCluster(input_folder=str(work / "buckets"), output_folder=str(work / "remove"), config=config)],
        [
            reader,
            MinhashDedupFilter(input_folder=str(work / "remove"), exclusion_writer=JsonlWriter(str(work / "removed"))),
            JsonlWriter(str(work / "kept")),
        ],
    ]
    tasks = [workers, config.num_buckets, 1, workers]
    for index, (pipeline, count) in enumerate(zip(stages, tasks, strict=True)):
        LocalPipelineExecutor(
            pipeline=pipeline, tasks=count, workers=min(workers, count), logging_dir=str(work / f"logs{index}")
        ).run()
    seconds = time.perf_counter() - started
    removed = []
    import gzip

    for path in (work / "removed").glob("*"):
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as lines:
            removed += [json.loads(line)["id"] for line in lines]
    with (data / "dialogues.jsonl").open(encoding="utf-8") as lines:
        rows = sum(1 for _ in lines)
    rss = {
        "main_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "largest_child_mb": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
    }
    print(
        json.dumps(
            {
                "rows_in": rows,
                "seconds": round(seconds, 1),
                "rows_per_s": round(rows / seconds),
                "removed": removed,
                "rss": rss,
            }
        )
    )


if __name__ == "__main__":
    main()
