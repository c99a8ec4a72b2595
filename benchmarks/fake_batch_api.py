"""The OpenAI Files and Batches endpoints of the fake provider, in the shapes OpenAI documents.

- ``POST /v1/files`` (multipart ``file`` + ``purpose``), ``GET /v1/files/{id}``,
  ``GET /v1/files/{id}/content``: file objects (``id``, ``object: "file"``, ``bytes``,
  ``created_at``, ``filename``, ``purpose``, ``status``).
- ``POST /v1/batches`` (``input_file_id``, ``endpoint``, ``completion_window``, ``metadata``),
  ``GET /v1/batches/{id}``, ``POST /v1/batches/{id}/cancel``, ``GET /v1/batches``: batch objects
  that go ``validating`` -> ``in_progress`` -> ``finalizing`` -> ``completed`` (or ``failed`` when
  the input file is malformed, ``cancelling`` -> ``cancelled``), with ``request_counts`` and an
  ``output_file_id`` / ``error_file_id``.
- Input lines are ``{"custom_id", "method": "POST", "url", "body"}``; output lines
  ``{"id", "custom_id", "response": {"status_code", "request_id", "body"}, "error": null}``.

Each request is answered like a live ``/v1/chat/completions`` call (``complete``) after the
batch's latency. ``stall`` batches never finish (to test a client's deadline). ``stats`` counts
batches, requests per ``metadata["stage"]``, and custom ids submitted more than once.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

Complete = Callable[[dict[str, Any]], dict[str, Any]]
FINAL = ("completed", "failed", "expired", "cancelled")


class FakeBatchAPI:
    """In-memory files and batches; batches are run by asyncio tasks of the server's loop."""

    def __init__(self, complete: Complete, latency_s: float = 1.0, stall: int = 0) -> None:
        """Answer each batch request with ``complete`` after ``latency_s``; the first ``stall`` batches hang."""
        self.complete, self.latency_s, self.stall = complete, latency_s, stall
        self.files: dict[str, dict[str, Any]] = {}
        self.contents: dict[str, bytes] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self.seen_ids: set[str] = set()
        self.stats: dict[str, Any] = {"batches": 0, "batch_requests": 0, "resubmitted": 0, "cancelled": 0}
        self.by_stage: Counter[str] = Counter()

    # ------------------------------------------------------------------ files

    def _store(self, content: bytes, filename: str, purpose: str) -> dict[str, Any]:
        file_id = f"file-{uuid.uuid4().hex[:24]}"
        self.files[file_id] = {
            "id": file_id,
            "object": "file",
            "bytes": len(content),
            "created_at": int(time.time()),
            "filename": filename,
            "purpose": purpose,
            "status": "processed",
        }
        self.contents[file_id] = content
        return self.files[file_id]

    async def upload(self, request: Request) -> JSONResponse:
        form = await request.form()
        upload, purpose = form.get("file"), str(form.get("purpose", ""))
        if upload is None or isinstance(upload, str) or purpose != "batch":
            return _error(400, "a file and purpose=batch are required")
        return JSONResponse(self._store(await upload.read(), upload.filename or "input.jsonl", purpose))

    async def file(self, request: Request) -> JSONResponse:
        found = self.files.get(request.path_params["file_id"])
        return JSONResponse(found) if found else _error(404, "no such file")

    async def content(self, request: Request) -> Response:
        file_id = request.path_params["file_id"]
        if file_id not in self.contents:
            return _error(404, "no such file")
        return Response(self.contents[file_id], media_type="application/octet-stream")

    # ---------------------------------------------------------------- batches

    async def create(self, request: Request) -> JSONResponse:
        body = await request.json()
        file_id, endpoint = body.get("input_file_id"), body.get("endpoint")
        if file_id not in self.contents or endpoint != "/v1/chat/completions" or body.get("completion_window") != "24h":
            return _error(400, "input_file_id, endpoint /v1/chat/completions and completion_window 24h are required")
        batch_id = f"batch_{uuid.uuid4().hex[:24]}"
        now = int(time.time())
        batch = {
            "id": batch_id,
            "object": "batch",
            "endpoint": endpoint,
            "input_file_id": file_id,
            "completion_window": "24h",
            "status": "validating",
            "created_at": now,
            "expires_at": now + 86400,
            "metadata": body.get("metadata") or None,
            "request_counts": {"total": 0, "completed": 0, "failed": 0},
        }
        self.batches[batch_id] = batch
        self.stats["batches"] += 1
        hang = self.stats["batches"] <= self.stall
        task = asyncio.create_task(self._run(batch, hang))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return JSONResponse(batch)

    async def retrieve(self, request: Request) -> JSONResponse:
        found = self.batches.get(request.path_params["batch_id"])
        return JSONResponse(found) if found else _error(404, "no such batch")

    async def cancel(self, request: Request) -> JSONResponse:
        batch = self.batches.get(request.path_params["batch_id"])
        if batch is None:
            return _error(404, "no such batch")
        if batch["status"] not in FINAL:
            batch.update(status="cancelled", cancelling_at=int(time.time()), cancelled_at=int(time.time()))
            self.stats["cancelled"] += 1
        return JSONResponse(batch)

    async def listing(self, _: Request) -> JSONResponse:
        data = sorted(self.batches.values(), key=lambda batch: -batch["created_at"])
        return JSONResponse({"object": "list", "data": data, "has_more": False})

    async def _run(self, batch: dict[str, Any], hang: bool) -> None:
        """Validate the input, wait, answer every line, write the output and error files."""
        lines = self._parse(batch)
        if lines is None:
            return
        batch.update(status="in_progress", in_progress_at=int(time.time()))
        batch["request_counts"]["total"] = len(lines)
        stage = str((batch.get("metadata") or {}).get("stage", "?"))
        for line in lines:
            self.stats["resubmitted"] += line["custom_id"] in self.seen_ids
            self.seen_ids.add(line["custom_id"])
        self.stats["batch_requests"] += len(lines)
        self.by_stage[stage] += len(lines)
        await asyncio.sleep(self.latency_s)
        while hang and batch["status"] == "in_progress":
            await asyncio.sleep(0.05)
        if batch["status"] != "in_progress":
            return
        outputs = []
        for line in lines:
            answer = self.complete(line["body"])
            response = {"status_code": 200, "request_id": f"req_{uuid.uuid4().hex[:16]}", "body": answer}
            request_id = f"batch_req_{uuid.uuid4().hex[:16]}"
            outputs.append({"id": request_id, "custom_id": line["custom_id"], "response": response, "error": None})
        batch.update(status="finalizing", finalizing_at=int(time.time()))
        content = "".join(json.dumps(output, ensure_ascii=False) + "\n" for output in outputs).encode()
        output_file = self._store(content, f"{batch['id']}_output.jsonl", "batch_output")
        batch["request_counts"]["completed"] = len(outputs)
        batch.update(status="completed", completed_at=int(time.time()), output_file_id=output_file["id"])

    def _parse(self, batch: dict[str, Any]) -> list[dict[str, Any]] | None:
        """Return the input lines, or mark the batch failed (as OpenAI does) and return None."""
        problems, lines, ids = [], [], set()
        for number, text in enumerate(self.contents[batch["input_file_id"]].decode().splitlines(), start=1):
            try:
                line = json.loads(text)
            except json.JSONDecodeError:
                problems.append((number, "invalid_json_line", "the line is not valid JSON"))
                continue
            if line.get("method") != "POST" or line.get("url") != batch["endpoint"] or "body" not in line:
                problems.append((number, "invalid_request", "method POST, the batch's url and a body are required"))
            elif line.get("custom_id") in ids or not line.get("custom_id"):
                problems.append((number, "duplicate_custom_id", "every custom_id must be unique and non-empty"))
            ids.add(line.get("custom_id"))
            lines.append(line)
        if problems or not lines:
            errors = [{"code": code, "message": message, "line": number} for number, code, message in problems]
            batch.update(status="failed", failed_at=int(time.time()), errors={"object": "list", "data": errors})
            return None
        return lines

    def routes(self) -> list[Route]:
        """The Starlette routes of the files and batches endpoints."""
        return [
            Route("/v1/files", self.upload, methods=["POST"]),
            Route("/v1/files/{file_id}", self.file),
            Route("/v1/files/{file_id}/content", self.content),
            Route("/v1/batches", self.create, methods=["POST"]),
            Route("/v1/batches", self.listing, methods=["GET"]),
            Route("/v1/batches/{batch_id}", self.retrieve),
            Route("/v1/batches/{batch_id}/cancel", self.cancel, methods=["POST"]),
        ]

    def health(self) -> dict[str, Any]:
        """Counters for ``/health``."""
        return {**self.stats, "batch_requests_by_stage": dict(self.by_stage)}


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": "invalid_request_error"}}, status)
