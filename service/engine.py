"""The shared runtime: LLM endpoint (embedded or remote), role models, embedder and memories.

Built once at startup (CLI command or the HTTP app's lifespan) from settings and passed on;
nothing below the service reads settings or builds clients itself.
"""

from __future__ import annotations

import logging
import random
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from agents.batch_api import BatchClient
from agents.batching import BatchDispatcher, BatchOptions
from agents.call_cache import CallCache
from agents.embedding_cache import CachingEmbedder
from agents.embeddings import Embedder, make_embedder
from agents.judge import JudgeOptions, Scoring
from agents.judge_plan import plan_for
from agents.llm import LLMConfig, RoleModels, build_role_models
from agents.local_llm import EmbeddedLLMServer, resolve_model_path
from agents.pricing import PriceTable
from agents.styles import StylePack
from agents.weighted import judge_scoring
from graph.knowledge import resolve_grounding
from graph.memory import TopicMemory, open_client
from graph.nodes import LoopDeps
from graph.state import LoopConfig
from graph.topic_planner import TopicPlanner
from service.jobs.batch_ledger import SqliteBatchLedger
from service.settings import Settings

logger = logging.getLogger(__name__)

Notify = Callable[[str], None]
# The embedded 1.5B model copies the "already covered" turns it is shown into new samples, which are
# then rejected as near-duplicates: 20 gentle samples took 6.2 calls each with 5 shown, 2.6 with none.
EMBEDDED_AVOID_NEIGHBORS = 0


def _log(message: str) -> None:
    logger.info(message)


@dataclass
class Engine:
    """Everything a job needs that is expensive to build: shared by every job of a process."""

    settings: Settings
    models: RoleModels
    embedder: CachingEmbedder
    base_url: str
    server: EmbeddedLLMServer | None = None
    chroma: Any = None
    cache: CallCache | None = None
    prices: PriceTable = field(default_factory=PriceTable)
    scoring: Scoring = "sampled"
    _ledger: SqliteBatchLedger | None = None
    _memories: dict[tuple[str, str], TopicMemory] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def start(
        cls,
        settings: Settings,
        notify: Notify = _log,
        models: RoleModels | None = None,
        embedder: Embedder | None = None,
    ) -> Engine:
        """Start the embedded model (unless a base URL is set or models are given) and the embedder.

        Injected ``models`` / ``embedder`` (tests, benchmarks) replace the ones built from settings.
        The embedder is wrapped in a bounded cache: topics and seed replies are embedded once. With
        ``settings.cache`` the data directory's call cache serves LLM answers and embeddings made
        before (injected models are used as they are).
        """
        config = settings.llm_config()
        prices = PriceTable.load(settings.prices_file)  # a bad price file fails before anything starts
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        cache = CallCache(settings.data_dir, settings.cache_max_mb * 1024 * 1024) if settings.cache else None
        # the embedder first: a wrong embedder setting fails before a 1.1 GB model is loaded
        inner = embedder or make_embedder(settings.embedder, settings.embedding_endpoint())
        cached_embedder = CachingEmbedder(inner, disk=cache)
        server = None
        if models is None:
            base_url, server = cls._endpoint(settings, config, notify)
            identity = f"embedded:{server.model_name}" if server is not None else base_url
            models = build_role_models(config, base_url, cache, cache_endpoint=identity)
        else:
            base_url = config.base_url or "(injected models)"
        try:
            scoring = judge_scoring(models.judge, settings.judge_scoring, settings.judge_sampled_fallback)
        except Exception:
            if server is not None:
                server.stop()
            if cache is not None:
                cache.close()
            raise
        if scoring != settings.judge_scoring:
            notify("the judge endpoint returns no logprobs: using sampled scores (DIALOGFORGE_JUDGE_SAMPLED_FALLBACK)")
        chroma = open_client(settings.data_dir)
        return cls(settings, models, cached_embedder, base_url, server, chroma, cache, prices, scoring=scoring)

    @staticmethod
    def _endpoint(settings: Settings, config: LLMConfig, notify: Notify) -> tuple[str, EmbeddedLLMServer | None]:
        """Return the base URL to call, starting the embedded server when none is configured."""
        if config.base_url:
            return config.base_url, None
        notify("starting the embedded model (on first use this also assembles and verifies a 1.1 GB file)...")
        model_path = resolve_model_path(settings.data_dir, settings.local_gguf)
        server = EmbeddedLLMServer(
            model_path, n_parallel=settings.local_parallel, ctx_per_slot=settings.local_ctx_per_slot
        ).start()
        notify(f"embedded model {server.model_name} ready at {server.base_url}")
        return server.base_url, server

    @property
    def is_embedded(self) -> bool:
        """Whether the LLM runs in this process."""
        return self.server is not None

    @property
    def avoid_neighbors(self) -> int:
        """How many accepted user turns the generator is shown to avoid (see Settings.avoid_neighbors)."""
        if self.settings.avoid_neighbors is not None:
            return self.settings.avoid_neighbors
        return EMBEDDED_AVOID_NEIGHBORS if self.is_embedded else LoopConfig().avoid_neighbors

    def memory(self, workspace: str, style: str, seed: int | None = None) -> TopicMemory:
        """Return the (shared) memory of one workspace and style; ``seed`` applies when it is first opened."""
        key = (workspace, style)
        with self._lock:
            if key not in self._memories:
                rng = random.Random(seed) if seed is not None else None
                self._memories[key] = TopicMemory(
                    self.settings.data_dir, workspace, style, self.embedder, rng=rng, client=self.chroma
                )
            return self._memories[key]

    def loop_deps(
        self,
        pack: StylePack,
        workspace: str,
        *,
        job_id: str | None = None,
        judge: str | None = None,
        judge_from_path: bool = False,
        config: LoopConfig | None = None,
        seed: int | None = None,
        knowledge: str | None = None,
        batch: bool = False,
    ) -> LoopDeps:
        """Wire the dependencies of one job's sample graphs.

        ``knowledge`` (a file, folder or indexed set's name) grounds the job; without it, the
        pack's own ``knowledge`` does (a pack without one is not grounded). ``batch``: send the
        generate, judge and rewrite calls through the endpoint's Batch API (agents/batching.py),
        the submissions recorded in the job store under ``job_id`` (one is made up when None) so
        that a resumed job with the same id adopts them.
        """
        memory = self.memory(workspace, pack.name, seed)
        grounding, _ = resolve_grounding(self.chroma, self.embedder, pack, knowledge)
        criteria = frozenset(pack.knowledge.criteria) if pack.knowledge else LoopConfig().grounded_criteria
        models, batches = self.models, None
        if batch:
            job_id = job_id or uuid.uuid4().hex[:12]
            batches = self._dispatcher(job_id)
            models = models.batched(batches)
        return LoopDeps(
            pack=pack,
            models=models,
            memory=memory,
            embedder=self.embedder,
            planner=TopicPlanner(
                pack, memory, self.models.topics, extra_topics=grounding.index.titles() if grounding else ()
            ),
            judge_plan=plan_for(
                pack.rubric, judge, allow_path=judge_from_path, options=JudgeOptions(scoring=self.scoring)
            ),
            config=replace(
                config or LoopConfig(),
                avoid_neighbors=self.avoid_neighbors,
                prefetch_reply_embeddings=self.embedder.workers > 1,  # a remote embedder: save a round trip
                grounded_criteria=criteria,
            ),
            job_id=job_id,
            seed=seed,
            cache=self.cache,
            prices=self.prices,
            grounding=grounding,
            batches=batches,
        )

    def reopen_memory(self) -> None:
        """Open a fresh Chroma client and forget the open memories (the next job reopens its own).

        Chroma's client hangs on its next call after a write failed on a full disk; a new client
        (Chroma's own system cache cleared) works. Call it only while no job runs.
        """
        from chromadb.api.client import SharedSystemClient

        with self._lock:
            SharedSystemClient.clear_system_cache()
            self.chroma = open_client(self.settings.data_dir)
            self._memories.clear()

    def _dispatcher(self, job_id: str) -> BatchDispatcher:
        """Build a job's Batch API dispatcher on the configured endpoint."""
        settings, config = self.settings, self.settings.llm_config()
        if self.is_embedded or not config.base_url:
            raise ValueError("batch mode needs a hosted endpoint with a Batch API (DIALOGFORGE_LLM_BASE_URL)")
        with self._lock:
            if self._ledger is None:
                self._ledger = SqliteBatchLedger(settings.data_dir)
        client = BatchClient(config.base_url, config.api_key or "sk-none", max_retries=config.max_retries)
        options = BatchOptions(
            window_s=settings.batch_window_s, poll_s=settings.batch_poll_s, deadline_s=settings.batch_deadline_s
        )
        return BatchDispatcher(client, job_id, options, self._ledger)

    def stop(self) -> None:
        """Write what the open memories still hold, stop the embedded server (if this engine started one)."""
        with self._lock:
            memories = list(self._memories.values())
        for memory in memories:
            try:  # a store that cannot be written (disk full) must not keep the server running
                memory.flush()
            except Exception as exc:
                logger.warning("topic memory not written at stop: %s: %s", type(exc).__name__, exc)
        if self.server is not None:
            self.server.stop()
            self.server = None
        if self.cache is not None:
            self.cache.close()
            self.cache = None
        if self._ledger is not None:
            self._ledger.close()
            self._ledger = None
