"""A fake OpenAI-compatible chat and embeddings server on loopback with a fixed latency per call.

Used by the pipeline-overhead benchmark (latency near a hosted model's, 1 s) and by service tests
that need a real HTTP LLM endpoint in another process. Answers come from
:func:`benchmarks.fake_llm.fake_answer`; usage is reported as characters / 4. ``/v1/embeddings``
answers hashed character-bigram vectors (similar text, similar vector; not semantic) after its own
latency. With ``--api-key`` every call must carry that bearer token (else HTTP 401). With
``--mechanical`` every structured answer is an arbitrary instance of the requested schema
(:mod:`benchmarks.schema_filler`), like a server that enforces schemas for a model that ignores the
prompt: what dialogforge makes of such answers shows whether its schemas admit malformed ones.

Run: ``python -m benchmarks.fake_openai_server --port 8099 --latency 1.0``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
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


def build_app(
    latency_s: float = 1.0, embedding_latency_s: float = 0.1, api_key: str | None = None, mechanical: bool = False
) -> Starlette:
    """Build the app: ``POST /v1/chat/completions``, ``POST /v1/embeddings``, ``GET /v1/models``, ``GET /health``."""
    stats = {"calls": 0, "in_flight": 0, "max_in_flight": 0, "embedding_calls": 0, "embedded_texts": 0}
    embedder = HashedBigramEmbedder()

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
        body = await request.json()
        stats["calls"] += 1
        stats["in_flight"] += 1
        stats["max_in_flight"] = max(stats["max_in_flight"], stats["in_flight"])
        try:
            await asyncio.sleep(latency_s)
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
            }
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
    parser.add_argument("--mechanical", action="store_true", help="answer arbitrary instances of each schema")
    args = parser.parse_args()
    app = build_app(args.latency, args.embedding_latency, args.api_key, args.mechanical)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
