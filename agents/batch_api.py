"""A thin client of the OpenAI Batch API (Files + Batches) over the openai SDK.

One submission is a JSONL file of ``{"custom_id", "method": "POST", "url": "/v1/chat/completions",
"body"}`` lines uploaded with ``purpose="batch"``, then ``batches.create`` on it with a 24 h
completion window; a finished batch's ``output_file_id`` (answers) and ``error_file_id`` (failed
requests) are JSONL files of ``{"custom_id", "response": {"status_code", "body"}, "error"}``
lines. The SDK's own retries handle 429/5xx on these calls, as for chat calls.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final, Literal

import openai
from openai.types import Batch

CHAT_ENDPOINT: Final[Literal["/v1/chat/completions"]] = "/v1/chat/completions"
COMPLETION_WINDOW: Final[Literal["24h"]] = "24h"
MAX_REQUESTS = 50_000  # OpenAI's limit per batch (and 200 MB per file)
FINAL_STATUSES = frozenset({"completed", "failed", "expired", "cancelled"})


@dataclass(frozen=True)
class BatchAnswer:
    """One line of a batch's output or error file: the response body, or why there is none."""

    custom_id: str
    body: dict[str, Any] | None
    error: str | None


class BatchClient:
    """Submit, poll, read and cancel chat-completion batches on one OpenAI-compatible endpoint."""

    def __init__(self, base_url: str, api_key: str, *, timeout_s: float = 120.0, max_retries: int = 5) -> None:
        """Build the SDK client (no request is sent yet)."""
        self._client = openai.AsyncOpenAI(
            base_url=base_url, api_key=api_key, timeout=timeout_s, max_retries=max_retries
        )

    async def submit(self, lines: list[dict[str, Any]], metadata: dict[str, str]) -> tuple[str, str]:
        """Upload ``lines`` ({custom_id, body}) as one file and start a batch on it; return (batch id, file id)."""
        content = "".join(_request_line(line["custom_id"], line["body"]) for line in lines).encode()
        name = f"dialogforge-{metadata.get('stage', 'calls')}.jsonl"
        uploaded = await self._client.files.create(file=(name, content, "application/jsonl"), purpose="batch")
        batch = await self._client.batches.create(
            input_file_id=uploaded.id, endpoint=CHAT_ENDPOINT, completion_window=COMPLETION_WINDOW, metadata=metadata
        )
        return batch.id, uploaded.id

    async def retrieve(self, batch_id: str) -> Batch:
        """Return the batch's current state."""
        return await self._client.batches.retrieve(batch_id)

    async def cancel(self, batch_id: str) -> None:
        """Ask the provider to cancel the batch (what it already answered stays in its output file)."""
        await self._client.batches.cancel(batch_id)

    async def custom_ids(self, input_file_id: str) -> list[str]:
        """Return the custom ids of a submitted batch, read back from its input file."""
        text = (await self._client.files.content(input_file_id)).text
        return [json.loads(line)["custom_id"] for line in text.splitlines() if line.strip()]

    async def job_batches(self, job_id: str, *, since: float, max_scanned: int = 2_000) -> list[Batch]:
        """Return the batches whose metadata names ``job_id`` that are unfinished or completed, newest first.

        A completed one is listed too: a job killed after ``batches.create`` may resume only after
        its batch has finished, and its answers are still to be read (failed, expired and cancelled
        ones have none).

        The provider lists batches newest first; the scan stops at the first one created before
        ``since`` (unix time) or after ``max_scanned`` batches, so a long history is never read whole.
        """
        found: list[Batch] = []
        scanned = 0
        async for batch in self._client.batches.list(limit=100):
            scanned += 1
            if batch.created_at < since or scanned > max_scanned:
                break
            if (batch.metadata or {}).get("job") == job_id and (
                batch.status not in FINAL_STATUSES or batch.status == "completed"
            ):
                found.append(batch)
        return found

    async def answers(self, batch: Batch) -> list[BatchAnswer]:
        """Read the output and error files of a finished batch."""
        found: list[BatchAnswer] = []
        for file_id in (batch.output_file_id, batch.error_file_id):
            if not file_id:
                continue
            text = (await self._client.files.content(file_id)).text
            found.extend(_answer(json.loads(line)) for line in text.splitlines() if line.strip())
        return found

    async def close(self) -> None:
        """Close the HTTP client."""
        await self._client.close()


def _request_line(custom_id: str, body: dict[str, Any]) -> str:
    """One line of a batch input file."""
    line = {"custom_id": custom_id, "method": "POST", "url": CHAT_ENDPOINT, "body": body}
    return json.dumps(line, ensure_ascii=False) + "\n"


def _answer(line: dict[str, Any]) -> BatchAnswer:
    """Turn one output/error line into an answer (a non-200 response or an error object is an error)."""
    response, error = line.get("response") or {}, line.get("error")
    if error or response.get("status_code") != 200:
        detail = (
            error or (response.get("body") or {}).get("error") or {"message": f"HTTP {response.get('status_code')}"}
        )
        message = detail.get("message", str(detail)) if isinstance(detail, dict) else str(detail)
        return BatchAnswer(str(line.get("custom_id")), None, message)
    return BatchAnswer(str(line["custom_id"]), response.get("body"), None)
