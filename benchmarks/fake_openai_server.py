"""A fake OpenAI-compatible chat and embeddings server on loopback with a fixed latency per call.

Used by the pipeline-overhead benchmark (latency near a hosted model's, 1 s) and by service tests
that need a real HTTP LLM endpoint in another process. Answers come from
:func:`benchmarks.fake_llm.fake_answer`; usage is reported as characters / 4. ``/v1/embeddings``
answers hashed character-bigram vectors (similar text, similar vector; not semantic) after its own
latency. With ``--api-key`` every call must carry that bearer token (else HTTP 401). With
``--mechanical`` every structured answer is an arbitrary instance of the requested schema
(:mod:`benchmarks.schema_filler`), like a server that enforces schemas for a model that ignores the
prompt: what dialogforge makes of such answers shows whether its schemas admit malformed ones.

Like a hosted provider it can also enforce a requests-per-minute limit (``--rpm``: a bucket of
10 s worth, 429 with ``Retry-After`` when empty, ``x-ratelimit-*`` headers on every answer) and
answer with heavy-tailed latency (``--tail lognormal``: median ``--latency``, p99 6x the median).
``/health`` reports calls, refusals, the most in flight at once and how many requests repeated an
earlier one byte for byte.

Run: ``python -m benchmarks.fake_openai_server --port 8099 --latency 1.0``.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import math
import random
import time
import uuid
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from benchmarks.fake_llm import fake_answer
from benchmarks.hashed_embedder import HashedBigramEmbedder
from benchmarks.schema_filler import fill


def _text(message: dict[str, Any]) -> str:
    content = message.get("content", "")
    if isinstance(content, list):
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return str(content)


TAIL_SIGMA = math.log(6.0) / 2.326  # lognormal: p99 = 6 x median


class RequestLimit:
    """A provider-like RPM limit: a bucket of 10 s worth, refilled continuously."""

    def __init__(self, rpm: float) -> None:
        self.rpm, self.capacity = rpm, max(1.0, rpm / 6.0)
        self.level, self.updated = self.capacity, time.monotonic()

    def take(self) -> float:
        """Take one request; return 0 when allowed, else the seconds until one is back."""
        now = time.monotonic()
        self.level = min(self.capacity, self.level + (now - self.updated) * self.rpm / 60.0)
        self.updated = now
        if self.level >= 1.0:
            self.level -= 1.0
            return 0.0
        return (1.0 - self.level) * 60.0 / self.rpm

    def headers(self) -> dict[str, str]:
        """The x-ratelimit-* headers OpenAI sends (reset: time until the bucket is full again)."""
        reset = (self.capacity - self.level) * 60.0 / self.rpm
        return {
            "x-ratelimit-limit-requests": str(int(self.rpm)),
            "x-ratelimit-remaining-requests": str(int(self.level)),
            "x-ratelimit-reset-requests": f"{reset:.3f}s",
        }


def build_app(
    latency_s: float = 1.0,
    embedding_latency_s: float = 0.1,
    api_key: str | None = None,
    *,
    rpm: float | None = None,
    tail: str = "fixed",
    mechanical: bool = False,
) -> Starlette:
    """Build the app: ``POST /v1/chat/completions``, ``POST /v1/embeddings``, ``GET /v1/models``, ``GET /health``."""
    stats = {"calls": 0, "in_flight": 0, "max_in_flight": 0, "embedding_calls": 0, "embedded_texts": 0}
    stats.update({"throttled": 0, "repeated": 0})
    seen: set[str] = set()
    embedder = HashedBigramEmbedder()
    limit = RequestLimit(rpm) if rpm else None
    rng = random.Random(17)

    def latency() -> float:
        return latency_s * math.exp(TAIL_SIGMA * rng.gauss(0.0, 1.0)) if tail == "lognormal" else latency_s

    def refused(request: Request) -> JSONResponse | None:
        if api_key is None or request.headers.get("authorization") == f"Bearer {api_key}":
            return None
        return JSONResponse({"error": {"message": "invalid api key", "type": "invalid_request_error"}}, 401)

    async def embeddings(request: Request) -> JSONResponse:
        if (answer := refused(request)) is not None:
            return answer
        body = await request.json()
        texts = [body["input"]] if isinstance(body["input"], str) else list(body["input"])
        stats["embedding_calls"] += 1
        stats["embedded_texts"] += len(texts)
        await asyncio.sleep(embedding_latency_s)
        vectors = embedder.embed(texts)
        data = [{"object": "embedding", "index": i, "embedding": row.tolist()} for i, row in enumerate(vectors)]
        tokens = sum(len(text) for text in texts) // 4
        usage = {"prompt_tokens": tokens, "total_tokens": tokens}
        return JSONResponse({"object": "list", "data": data, "model": body.get("model", "fake"), "usage": usage})

    async def completions(request: Request) -> JSONResponse:
        if (refusal := refused(request)) is not None:
            return refusal
        raw = await request.body()
        body = await request.json()
        if limit is not None and (wait := limit.take()) > 0:
            stats["throttled"] += 1
            error = {"error": {"message": "rate limit reached for requests", "type": "requests"}}
            return JSONResponse(error, 429, headers={**limit.headers(), "retry-after": f"{wait:.3f}"})
        digest = hashlib.sha256(raw).hexdigest()
        stats["repeated"] += digest in seen
        seen.add(digest)
        stats["calls"] += 1
        stats["in_flight"] += 1
        stats["max_in_flight"] = max(stats["max_in_flight"], stats["in_flight"])
        try:
            await asyncio.sleep(latency())
        finally:
            stats["in_flight"] -= 1
        prompt = "\n".join(_text(message) for message in body.get("messages", []))
        schema = (body.get("response_format") or {}).get("json_schema", {})
        if mechanical and schema.get("schema"):
            answer = json.dumps(fill(schema["schema"], random.Random(stats["calls"])), ensure_ascii=False)
        else:
            answer = fake_answer(prompt, schema)
        usage = {"prompt_tokens": len(prompt) // 4, "completion_tokens": len(answer) // 4}
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        return JSONResponse(
            {
                "id": f"chatcmpl-{uuid.uuid4().hex}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model", "fake"),
                "choices": [{"index": 0, "message": {"role": "assistant", "content": answer}, "finish_reason": "stop"}],
                "usage": usage,
            },
            headers=limit.headers() if limit is not None else None,
        )

    async def models(request: Request) -> JSONResponse:
        if (answer := refused(request)) is not None:
            return answer
        return JSONResponse({"object": "list", "data": [{"id": "fake", "object": "model"}]})

    async def health(_: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", **stats})

    return Starlette(
        routes=[
            Route("/v1/chat/completions", completions, methods=["POST"]),
            Route("/v1/embeddings", embeddings, methods=["POST"]),
            Route("/v1/models", models),
            Route("/health", health),
        ]
    )


def main() -> None:
    """Serve the fake on 127.0.0.1."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=8099)
    parser.add_argument("--latency", type=float, default=1.0, help="seconds per chat call")
    parser.add_argument("--embedding-latency", type=float, default=0.1, help="seconds per embeddings call")
    parser.add_argument("--api-key", default=None, help="require this bearer token")
    parser.add_argument("--rpm", type=float, default=None, help="enforce this many requests a minute (429 above)")
    parser.add_argument("--tail", choices=["fixed", "lognormal"], default="fixed", help="chat latency distribution")
    parser.add_argument("--mechanical", action="store_true", help="answer arbitrary instances of each schema")
    args = parser.parse_args()
    app = build_app(
        args.latency, args.embedding_latency, args.api_key, rpm=args.rpm, tail=args.tail, mechanical=args.mechanical
    )
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
