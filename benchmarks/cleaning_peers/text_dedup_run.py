"""text-dedup's MinHash (``text_dedup.minhash``) on the planted-noise file, in its own virtual environment.

``python text_dedup_run.py DATA_DIR WORKERS`` (run by ``benchmarks.cleaning``); prints one JSON line.
text-dedup splits text into words on non-word characters, so a Chinese sentence would be one
"word": the dialogue's characters are written space-separated first (its documented way to get
character n-grams), so its 5-grams are character 5-grams like ours. Its defaults otherwise: 250
permutations, threshold 0.7, bands and rows from its optimiser, Hugging Face ``datasets`` with
``num_proc = WORKERS``. Writing that input and reading the kept rows back are included in the time.
Install: ``python -m venv V && V/bin/pip install text-dedup==0.4.0``.
"""

import json
import re
import resource
import sys
import tempfile
import time
from pathlib import Path

from datasets import load_from_disk
from text_dedup.minhash import main as minhash

_NOT_WORD = re.compile(r"[\W_]+")


def main() -> None:
    """Write the spaced text, run text-dedup, and print speed, memory and the removed ids."""
    data, workers = Path(sys.argv[1]), int(sys.argv[2])
    work = Path(tempfile.mkdtemp(prefix="td-"))
    started = time.perf_counter()
    ids = []
    with (data / "dialogues.jsonl").open(encoding="utf-8") as rows, (work / "in.jsonl").open("w") as out:
        for line in rows:
            row = json.loads(line)
            folded = _NOT_WORD.sub("", "".join(m["value"] for m in row["conversations"]).casefold())
            out.write(json.dumps({"id": row["id"], "text": " ".join(folded)}, ensure_ascii=False) + "\n")
            ids.append(row["id"])
    args = ["--path", "json", "--data_files", str(work / "in.jsonl"), "--split", "train", "--cache_dir"]
    args += [str(work / "cache"), "--output", str(work / "out"), "--column", "text", "--num_proc", str(workers)]
    args += ["--ngram", "5", "--min_length", "0", "--threshold", "0.7"]
    minhash.main(args=args, standalone_mode=False)
    kept = set(load_from_disk(str(work / "out"))["id"])
    seconds = time.perf_counter() - started
    result = {
        "rows_in": len(ids),
        "rows_out": len(kept),
        "seconds": round(seconds, 1),
        "rows_per_s": round(len(ids) / seconds),
        "main_peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "removed": [row_id for row_id in ids if row_id not in kept],
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
