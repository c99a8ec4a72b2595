"""Generation on Ray: the job's runner here hands each planned sample to a pool of worker actors.

The runner (``graph.runner.JobRunner``, unchanged) claims sample numbers, counts, stores and
emits, as for a local job; only its per-sample step (:data:`graph.runner.SampleInvoke`) differs.
:class:`RaySamples` is that step: it plans the sample's topic here (the topic planner and its
reservations live with the memory), sends the planned state to the least loaded
:class:`SampleWorker` (an actor with its own LLM clients and embedder, running
``build_candidate_graph``: generate, check, judge, rewrite), and accepts the returned candidate
here (``SampleNodes.accept``: the near-duplicate check against everything accepted, then the
memory), under the same lock as a local job. So n is never exceeded, no near-duplicate is
accepted across workers, and every accepted sample is stored as it is accepted.

Faults: an actor whose process or node dies is restarted by Ray (``max_restarts``) and its
in-flight units are re-run there (``max_task_retries``); a unit whose actor stays unavailable
is sent to another worker (:data:`UNIT_ATTEMPTS` in all). A retried unit is the same sample
number with the same id and plan, so it is accepted at most once.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from agents.call_scope import call_scope
from graph.builder import build_candidate_graph, recursion_limit
from graph.nodes import LoopDeps, SampleNodes, user_text
from graph.state import SampleState

logger = logging.getLogger(__name__)

MAX_RESTARTS = 4
"""Times Ray restarts a dead worker actor (its in-flight units are re-run on the new one)."""
MAX_TASK_RETRIES = 2
"""Times Ray re-runs a unit whose actor died while running it."""
UNIT_ATTEMPTS = 3
"""Workers a unit is sent to at most before it counts as a failed sample."""
CLOSE_WAIT_S = 30.0
"""Seconds a closing pool waits for Ray to report its killed actors dead."""

WorkerSetup = Callable[[], LoopDeps]
"""Builds a worker's dependencies on its node (its own LLM clients and embedder; no memory)."""
Candidate = tuple[dict[str, Any], np.ndarray | None, str]
"""A worker's answer: the final state, the user text's vector when it passed, the worker's node id."""


class WorkerSampleError(RuntimeError):
    """A sample failed on a worker (the message is the worker's error, type and first line)."""


class SampleWorker:
    """A Ray actor that runs planned samples through the loop and returns candidates (async: many at once)."""

    def __init__(self, setup: WorkerSetup) -> None:
        """Build this worker's dependencies and its graph (on the worker's node)."""
        self.deps = setup()
        self.graph = build_candidate_graph(self.deps)
        import ray

        self.node = str(ray.get_runtime_context().get_node_id())

    def where(self) -> tuple[str, int]:
        """Return this worker's node id and process id."""
        return self.node, os.getpid()

    async def run(self, state: SampleState, scope_seed: int) -> Candidate:
        """Run one planned sample to a candidate (``pending``) or a rejection; embed a candidate's user text."""
        try:
            with call_scope(scope_seed):
                final = await self.graph.ainvoke(state, config={"recursion_limit": recursion_limit(self.deps)})
            vector = None
            if final.get("status") == "pending":
                vector = (await asyncio.to_thread(self.deps.embedder.embed, [user_text(final["turns"])]))[0]
        except Exception as exc:  # travels as text: a Ray-wrapped exception carries a remote traceback
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise WorkerSampleError(f"{type(exc).__name__}: {first}") from None
        return final, vector, self.node


class WorkerPool:
    """The job's worker actors, spread over the cluster's nodes; units go to the least loaded one."""

    def __init__(
        self, setup: WorkerSetup, concurrency: int, workers: int | None = None, worker: type = SampleWorker
    ) -> None:
        """Plan ``workers`` actors (None: one per CPU of the cluster, at most ``concurrency``); none start yet.

        ``worker`` is the actor class (a benchmark's instant worker has :class:`SampleWorker`'s methods).
        """
        self.setup, self.concurrency, self.wanted, self.worker = setup, concurrency, workers, worker
        self.actors: list[Any] = []
        self.load: list[int] = []
        self.nodes: set[str] = set()
        self.retried = 0
        self._ray: Any = None

    async def start(self, ray: Any) -> None:
        """Start the actors and wait until each has built its models (``ray`` is the connected module)."""
        self._ray = ray
        cpus = int(ray.cluster_resources().get("CPU", 1))
        count = max(1, min(self.concurrency, self.wanted or cpus))
        per_worker = -(-self.concurrency // count)
        actor = ray.remote(self.worker).options(
            num_cpus=1 if self.wanted is None else 0,
            max_restarts=MAX_RESTARTS,
            max_task_retries=MAX_TASK_RETRIES,
            max_concurrency=per_worker,
            scheduling_strategy="SPREAD",
        )
        self.actors = [actor.remote(self.setup) for _ in range(count)]
        self.load = [0] * count
        places = await asyncio.gather(*(worker.where.remote() for worker in self.actors))
        self.nodes = {node for node, _ in places}
        logger.info("ray: %d sample workers on %d node(s), %d samples each at once", count, len(self.nodes), per_worker)

    async def run(self, state: SampleState, scope_seed: int) -> Candidate:
        """Run one unit on the least loaded worker; move it to another if its worker stays dead."""
        ray = self._ray
        failure: Exception | None = None
        for attempt in range(UNIT_ATTEMPTS):
            index = min(range(len(self.actors)), key=lambda i: (self.load[i], (i - attempt) % len(self.actors)))
            self.load[index] += 1
            try:
                candidate: Candidate = await self.actors[index].run.remote(state, scope_seed)
            except ray.exceptions.RayActorError as exc:
                failure = exc
                self.retried += 1
                logger.warning(
                    "ray: sample %s lost its worker (%s); retrying", state.get("ordinal"), type(exc).__name__
                )
                continue
            except ray.exceptions.RayTaskError as exc:
                cause = exc.cause
                raise cause if isinstance(cause, WorkerSampleError) else WorkerSampleError(str(cause)) from None
            finally:
                self.load[index] -= 1
            self.nodes.add(candidate[2])
            return candidate
        raise WorkerSampleError(f"no worker could run the sample: {type(failure).__name__}")

    async def close(self) -> None:
        """End the actors and wait (at most :data:`CLOSE_WAIT_S`) until Ray reports each one dead.

        Their in-flight units are abandoned: the runner has stopped waiting for them. ``ray.kill``
        only asks; without the wait a job could return while its workers still held their CPUs.
        """
        ray, actors = self._ray, self.actors
        for worker in actors:
            ray.kill(worker, no_restart=True)
        self.actors, self.load = [], []

        async def ended(worker: Any) -> None:
            while True:
                try:
                    await worker.where.remote()
                except ray.exceptions.RayActorError:
                    return
                await asyncio.sleep(0.05)

        try:
            await asyncio.wait_for(asyncio.gather(*(ended(worker) for worker in actors)), CLOSE_WAIT_S)
        except TimeoutError:
            logger.warning("ray: %d worker(s) not reported dead %.0f s after the kill", len(actors), CLOSE_WAIT_S)


class UnitRunner(Protocol):
    """Runs one planned sample somewhere and returns its candidate (:class:`WorkerPool` on Ray)."""

    async def run(self, state: SampleState, scope_seed: int) -> Candidate:
        """Run the unit."""
        ...


class RaySamples:
    """The per-sample step of a job on Ray: plan here, run the loop on a worker, accept here."""

    def __init__(self, deps: LoopDeps, pool: UnitRunner) -> None:
        """Bind the step to the job's dependencies (memory, planner, journal) and its worker pool."""
        self.deps, self.pool = deps, pool
        self.nodes = SampleNodes(deps)

    async def __call__(self, initial: SampleState, scope_seed: int) -> dict[str, Any]:
        """Run one sample: plan its topic, send it to a worker, accept its candidate (or not)."""
        with call_scope(scope_seed):
            planned: dict[str, Any] = {**initial, **await self.nodes.plan_topic(initial)}
        final, vector, _ = await self.pool.run(planned, scope_seed)  # type: ignore[arg-type]
        if final.get("status") != "pending":
            return final
        remember = getattr(self.deps.embedder, "remember", None)
        if vector is not None and remember is not None:  # the memory then embeds nothing the worker did
            remember([user_text(final["turns"])], vector[np.newaxis, :])
        return {**final, **await self.nodes.accept(final)}  # type: ignore[arg-type]
