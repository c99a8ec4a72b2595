"""Small files and samples for the data-set tests (written by each test into its tmp_path)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agents.schemas import Lineage, Sample, Turn


def write_jsonl(path: Path, rows: list[Any], *, bom: bool = False) -> Path:
    text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8"))
    return path


def sharegpt(user: str, assistant: str, system: str = "") -> dict[str, Any]:
    row: dict[str, Any] = {"conversations": [{"from": "human", "value": user}, {"from": "gpt", "value": assistant}]}
    if system:
        row["system"] = system
    return row


def sample(index: int, *, user: str | None = None, status: str = "accepted") -> Sample:
    turns = [Turn(role="user", content=user or f"问题 {index}"), Turn(role="assistant", content=f"回答 {index}")]
    return Sample(
        id=f"gen-{index}",
        status=status,  # type: ignore[arg-type]
        system="你是一位温柔的客服。",
        turns=turns,
        lineage=Lineage(style="gentle", topic=f"t{index}", job_id="job1", models={"generator": "fake"}),
    )
