"""The ``generate`` job kind: n accepted samples in a style, topics from the planner."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Literal

from pydantic import Field, model_validator

from agents.prompting import DEFAULT_JUDGE_PROMPT, judge_prompt_names
from agents.styles import StylePack, with_coherence
from graph.executors.ray_session import ExecutorError
from graph.runner import JobRunner
from graph.state import LoopConfig
from service.jobs.errors import InvalidRequestError
from service.jobs.kinds.base import (
    MAX_CONCURRENCY,
    NAME_PATTERN,
    ExecutorChoice,
    JobRequestBase,
    JobRun,
    RunContext,
)
from service.jobs.ray_generation import RayGeneration, check_hosted, check_ray_job

if TYPE_CHECKING:
    from service.jobs.models import Limits
    from service.jobs.styles import StyleRegistry

MAX_BATCH_CONCURRENCY = 1000  # batch mode: a sample waiting on a batch holds no connection


class GenerateJobRequest(JobRequestBase, ExecutorChoice):
    """Make n accepted samples in a style, steered toward topics the workspace has not covered."""

    kind: Literal["generate"] = Field(default="generate", description="The job kind.")
    style: str = Field(min_length=1, max_length=64, description="Style pack name or alias (see GET /v1/styles).")
    n: int = Field(ge=1, description="Accepted samples to make (at most the server's max_job_n).")
    workspace: str = Field(
        default="default", pattern=NAME_PATTERN, description="Memory namespace: jobs in one avoid each other's topics."
    )
    topic: str | None = Field(default=None, max_length=200, description="Fix the topic of every sample.")
    judge: str = Field(
        default=DEFAULT_JUDGE_PROMPT,
        min_length=1,
        max_length=1024,
        description="Judge prompt name (prompts/judge); the command line also takes a .md path.",
    )
    max_rewrites: int = Field(default=2, ge=0, le=10)
    turns: int | None = Field(
        default=None, ge=1, le=6, description="Exchanges per sample (default: the style pack's turns, else 1)."
    )
    seed: int | None = Field(default=None, ge=0, le=2**31 - 1)
    batch: bool = Field(
        default=False,
        description="Send the generate, judge and rewrite calls through the endpoint's OpenAI Batch API (half the "
        f"price, slower); concurrency may then be up to {MAX_BATCH_CONCURRENCY}.",
    )
    concurrency: int = Field(
        default=2,
        ge=1,
        le=MAX_BATCH_CONCURRENCY,
        description=f"LLM calls in flight at once (at most {MAX_CONCURRENCY}; with batch, samples batched, at most "
        f"{MAX_BATCH_CONCURRENCY}; "
        "the server may cap live jobs lower).",
    )
    knowledge: str | None = Field(
        default=None,
        min_length=1,
        max_length=1024,
        description="Command line only: ground the samples in a knowledge file, folder or indexed set (over HTTP "
        "a style pack's knowledge.name does). Without it, the style pack's own knowledge applies.",
    )

    @model_validator(mode="after")
    def _live_concurrency(self) -> GenerateJobRequest:
        if not self.batch and self.concurrency > MAX_CONCURRENCY:
            raise ValueError(
                f"concurrency must be at most {MAX_CONCURRENCY} (up to {MAX_BATCH_CONCURRENCY} with batch), "
                f"got {self.concurrency}"
            )
        return self


def check_judge(name: str) -> None:
    """Refuse judge prompts that are not shipped (names only: never a path on the server)."""
    known = judge_prompt_names()
    if name not in known:
        raise InvalidRequestError(f"unknown judge prompt {name!r}; known: {', '.join(known)}")


def refuse_remote_knowledge(source: str | None) -> None:
    """Refuse ``knowledge`` from a remote caller: it may name a file on the server."""
    if source is not None:
        raise InvalidRequestError(
            "knowledge is a command-line option (a file, folder or indexed set); over HTTP, use a style pack "
            "whose knowledge.name names an indexed set"
        )


class GenerateKind:
    """How ``generate`` jobs are admitted and run."""

    name = "generate"
    request_type = GenerateJobRequest

    def target(self, request: GenerateJobRequest) -> int:
        """Return n."""
        return request.n

    def admit(
        self,
        request: GenerateJobRequest,
        limits: Limits,
        styles: StyleRegistry,
        *,
        pack: StylePack | None,
        local: bool,
    ) -> StylePack:
        """Check n, concurrency and the judge prompt; resolve the style (unless the caller gave the pack)."""
        if request.n > limits.max_job_n:
            raise InvalidRequestError(f"n must be at most {limits.max_job_n} on this server, got {request.n}")
        most = MAX_BATCH_CONCURRENCY if request.batch else limits.max_job_concurrency
        if request.concurrency > most:
            raise InvalidRequestError(
                f"concurrency must be at most {most} on this server{' in batch mode' if request.batch else ''}, "
                f"got {request.concurrency}"
            )
        if not local:
            check_judge(request.judge)
            refuse_remote_knowledge(request.knowledge)
        pack = pack or styles.resolve(request.style)
        if request.executor == "ray":
            try:
                check_ray_job(batch=request.batch, knowledge=request.knowledge, pack=pack)
            except ExecutorError as exc:
                raise InvalidRequestError(str(exc)) from None
        return pack

    async def build(self, context: RunContext[GenerateJobRequest]) -> JobRun:
        """Wire the sample loop and a runner that continues from what earlier runs finished."""
        request, pack = context.request, context.pack
        assert pack is not None, "a generate job always has a style pack"
        exchanges = request.turns or pack.turns
        if exchanges > 1:  # the judge scores coherence across the turns too
            pack = pack.model_copy(update={"rubric": with_coherence(pack.rubric)})
        deps = await asyncio.to_thread(
            context.engine.loop_deps,
            pack,
            request.workspace,
            job_id=context.job_id,
            judge=request.judge,
            judge_from_path=context.local,
            config=LoopConfig(max_rewrites=request.max_rewrites, exchanges=exchanges),
            seed=request.seed,
            knowledge=request.knowledge,
            batch=request.batch,
        )
        ray = None
        if request.executor == "ray":
            check_hosted(context.engine.settings)
            ray = RayGeneration(context.engine.settings, deps, request.ray_address, request.concurrency)
        runner = JobRunner(
            deps,
            request.n,
            concurrency=request.concurrency,
            budget=request.budget,
            topic=request.topic,
            previous=context.previous,
            elapsed_s=context.elapsed_s,
            on_event=context.on_event,
            executor=ray.executor if ray is not None else None,
        )
        return ray.attach(runner) if ray is not None else runner


GENERATE = GenerateKind()
