"""The ``generate`` job kind: n accepted samples in a style, topics from the planner."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from agents.prompting import DEFAULT_JUDGE_PROMPT, judge_prompt_names
from agents.styles import StylePack
from graph.runner import JobRunner
from graph.state import LoopConfig
from service.jobs.errors import InvalidRequestError
from service.jobs.kinds.base import NAME_PATTERN, JobRequestBase, JobRun, RunContext

if TYPE_CHECKING:
    from service.jobs.models import Limits
    from service.jobs.styles import StyleRegistry


class GenerateJobRequest(JobRequestBase):
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
    seed: int | None = Field(default=None, ge=0, le=2**31 - 1)
    knowledge: str | None = Field(
        default=None,
        min_length=1,
        max_length=1024,
        description="Command line only: ground the samples in a knowledge file, folder or indexed set (over HTTP "
        "a style pack's knowledge.name does). Without it, the style pack's own knowledge applies.",
    )


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
        if request.concurrency > limits.max_job_concurrency:
            raise InvalidRequestError(
                f"concurrency must be at most {limits.max_job_concurrency} on this server, got {request.concurrency}"
            )
        if not local:
            check_judge(request.judge)
            refuse_remote_knowledge(request.knowledge)
        return pack or styles.resolve(request.style)

    async def build(self, context: RunContext[GenerateJobRequest]) -> JobRun:
        """Wire the sample loop and a runner that continues from what earlier runs finished."""
        request, pack = context.request, context.pack
        assert pack is not None, "a generate job always has a style pack"
        deps = await asyncio.to_thread(
            context.engine.loop_deps,
            pack,
            request.workspace,
            job_id=context.job_id,
            judge=request.judge,
            judge_from_path=context.local,
            config=LoopConfig(max_rewrites=request.max_rewrites),
            seed=request.seed,
            knowledge=request.knowledge,
        )
        return JobRunner(
            deps,
            request.n,
            concurrency=request.concurrency,
            budget=request.budget,
            topic=request.topic,
            previous=context.previous,
            elapsed_s=context.elapsed_s,
            on_event=context.on_event,
        )


GENERATE = GenerateKind()
