"""``hf:owner/name[@revision]``: a Hub data set already in the local Hugging Face cache, offline.

``huggingface_hub.snapshot_download(..., local_files_only=True)`` finds the cached snapshot (it
honours ``HF_HOME`` / ``HF_HUB_CACHE``) and never touches the network; a data set that is not
cached is an error saying how to fetch it. The snapshot's data files (JSON Lines, JSON, CSV,
Parquet) are read in path order; ``--split`` picks the files of one split (by the usual names:
``train.jsonl``, ``data/train-00000-of-00001.parquet``, ``test/...``).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from graph.datasets.errors import SourceError
from graph.datasets.readers.base import Reader

_REPO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")
_SPLITS = ("train", "validation", "valid", "dev", "test")
_TOKENS = re.compile(r"[/._-]")


def split_of(relative: str) -> str | None:
    """Return the split a data file belongs to by its path (``data/train-0000.parquet`` -> train)."""
    tokens = set(_TOKENS.split(relative.lower()))
    return next((split for split in _SPLITS if split in tokens), None)


def open_hub_dataset(spec: str, *, split: str | None = None, encoding: str | None = None) -> list[Reader]:
    """Return readers for the cached files of ``owner/name[@revision]``.

    Raises:
        SourceError: The name is malformed, the data set is not in the cache, it has no data
            files, or several splits exist and none was chosen.
    """
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    from graph.datasets.readers import SUFFIXES, open_file

    repo, _, revision = spec.partition("@")
    if not _REPO.match(repo):
        raise SourceError(f"hf:{spec}: write a Hub data set as hf:owner/name (optionally @revision)")
    try:
        cache = os.environ.get("HF_HUB_CACHE") or None  # read now: huggingface_hub reads it once, at import
        folder = Path(
            snapshot_download(
                repo, repo_type="dataset", revision=revision or None, cache_dir=cache, local_files_only=True
            )
        )
    except (LocalEntryNotFoundError, FileNotFoundError, ValueError):
        raise SourceError(
            f"hf:{spec} is not in the local Hugging Face cache, and dialogforge never downloads; fetch it first "
            f"(huggingface-cli download --repo-type dataset {repo}) or import its files by path"
        ) from None
    files = sorted(
        p for p in folder.rglob("*") if p.suffix.lower() in SUFFIXES and p.is_file() and ".git" not in p.parts
    )
    if not files:
        raise SourceError(f"hf:{spec}: the cached snapshot has no data files ({', '.join(SUFFIXES)})")
    by_split = {path: split_of(str(path.relative_to(folder))) for path in files}
    splits = sorted({value for value in by_split.values() if value})
    if split is None and len(splits) > 1:
        raise SourceError(f"hf:{spec} has splits {', '.join(splits)}; choose one with --split")
    if split is not None:
        files = [path for path in files if by_split[path] == split]
        if not files:
            raise SourceError(f"hf:{spec} has no split {split!r}; its splits: {', '.join(splits) or 'none named'}")
    return [open_file(path, f"hf:{repo}/{path.relative_to(folder)}", encoding=encoding) for path in files]
