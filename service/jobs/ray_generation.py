"""A ``generate`` job on a Ray cluster: the job's runner here, its samples' loops on worker actors.

:func:`ray_job` wraps the job's ordinary :class:`graph.runner.JobRunner` (same store, counters,
events, resume) whose per-sample step runs on a :class:`graph.executors.ray_samples.WorkerPool`.
:class:`WorkerSetup` is what each worker builds on its node: LLM clients on the job's endpoint and
its own embedder (so embedding CPU spreads over the nodes), an empty in-process memory (workers
never decide acceptance) and the job's style pack, judge prompts and loop settings.

A Ray job needs a hosted endpoint (the embedded model runs on this machine only) and is not
grounded in knowledge nor sent through the Batch API yet (refused at admission, one line).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from agents.embedding_cache import CachingEmbedder
from agents.embeddings import make_embedder
from agents.judge_plan import JudgePlan
from agents.llm import LLMConfig, build_role_models
from agents.remote_embeddings import EmbeddingEndpoint
from agents.styles import StylePack
from graph.executors.ray_samples import RaySamples, WorkerPool
from graph.executors.ray_session import ExecutorError, ray_session
from graph.memory import TopicMemory
from graph.nodes import LoopDeps
from graph.progress import ExecutorStats, JobProgress, JobSummary
from graph.runner import JobRunner, SampleInvoke
from graph.state import LoopConfig
from graph.topic_planner import TopicPlanner
from service.settings import Settings


@dataclass(frozen=True)
class WorkerSetup:
    """What a worker actor needs to build its dependencies on its own node (pickled to it)."""

    llm: LLMConfig
    embedder: str
    embedding_endpoint: EmbeddingEndpoint
    pack: StylePack
    judge_plan: JudgePlan
    config: LoopConfig
    workspace: str

    def __call__(self) -> LoopDeps:
        """Build the worker's models, embedder and (empty) memory."""
        import chromadb

        assert self.llm.base_url is not None, "a Ray job needs a hosted endpoint"
        embedder = CachingEmbedder(make_embedder(self.embedder, self.embedding_endpoint))
        client = chromadb.EphemeralClient()
        memory = TopicMemory(".", self.workspace, self.pack.name, embedder, client=client)
        return LoopDeps(
            pack=self.pack,
            models=build_role_models(self.llm, self.llm.base_url),
            memory=memory,
            embedder=embedder,
            planner=TopicPlanner(self.pack, memory, None),
            judge_plan=self.judge_plan,
            config=replace(self.config, near_duplicate_in_check=False, prefetch_reply_embeddings=embedder.workers > 1),
        )


def check_ray_job(*, batch: bool, knowledge: str | None, pack: StylePack) -> None:
    """Refuse what a Ray job cannot do yet, before the job is stored.

    Raises:
        ExecutorError: The job is batched or grounded in knowledge.
    """
    if batch:
        raise ExecutorError("executor ray does not send calls through the Batch API yet; run it without batch")
    if knowledge or pack.knowledge:
        raise ExecutorError("executor ray does not ground samples in knowledge yet; run it with executor local")


def check_hosted(settings: Settings) -> None:
    """Refuse the embedded model for a Ray job.

    Raises:
        ExecutorError: No hosted endpoint is configured.
    """
    if settings.uses_embedded_llm:
        raise ExecutorError(
            "executor ray needs a hosted LLM endpoint (DIALOGFORGE_LLM_BASE_URL): the embedded model runs on "
            "this machine only"
        )


class RayGeneration:
    """A job run whose samples run on Ray worker actors (``progress``/``cancel`` are the runner's)."""

    def __init__(self, settings: Settings, deps: LoopDeps, address: str | None, concurrency: int) -> None:
        """Plan the worker pool of a job with ``deps``; call :meth:`attach` with the runner next."""
        setup = WorkerSetup(
            llm=settings.llm_config(),
            embedder=settings.embedder,
            embedding_endpoint=settings.embedding_endpoint(),
            pack=deps.pack,
            judge_plan=deps.judge_plan,
            config=deps.config,
            workspace=deps.memory.workspace,
        )
        self.address = address
        self.pool = WorkerPool(setup, concurrency)
        self.runner: JobRunner | None = None

    def executor(self, deps: LoopDeps) -> SampleInvoke:
        """The runner's per-sample step (``JobRunner(executor=...)``)."""
        return RaySamples(deps, self.pool)

    def attach(self, runner: JobRunner) -> RayGeneration:
        """Keep the runner this run drives."""
        self.runner = runner
        return self

    def _runner(self) -> JobRunner:
        assert self.runner is not None, "attach the runner first"
        return self.runner

    def progress(self) -> JobProgress:
        """Return the runner's counters."""
        return self._runner().progress()

    async def cancel(self) -> None:
        """Stop starting samples; those in flight on the workers finish and are kept."""
        await self._runner().cancel()

    async def run(self) -> JobSummary:
        """Connect to the cluster, start the workers, run the job, end the workers."""
        with ray_session(self.address) as ray:
            await self.pool.start(ray)
            workers = len(self.pool.actors)
            try:
                summary = await self._runner().run()
            finally:
                await self.pool.close()
        stats = ExecutorStats(nodes=len(self.pool.nodes), workers=workers, retried_units=self.pool.retried)
        return summary.model_copy(update={"executor": stats})
