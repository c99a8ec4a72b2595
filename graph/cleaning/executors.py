"""Where a cleaning chain runs: ``local`` (worker processes on this machine) or ``ray`` (a Ray cluster).

The operators, the chain and the writer do not know which one runs them: an executor only
decides where the chain's first run of row and keyed operators is computed. ``LocalExecutor``
lets ``ChainRunner.run`` do it in its process pool; ``RayExecutor`` does it as a Ray Data stage
over the version's Parquet files (``graph.cleaning.ray_stage``) and hands the results to
``ChainRunner.replay``. Both give the same rows and lineage on the same input.

Not distributed yet: the keyed operators' *decisions* (which row of a duplicate group stays)
run on the driver over compact per-row keys computed on the cluster, and an LLM operator (and any
operator after it) runs on the driver too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from graph.cleaning.chain import ChainRunner, Sink
from graph.cleaning.ray_stage import prepared_batches
from graph.cleaning.report import CleanReport
from graph.datasets.manifest import Manifest
from graph.datasets.store import DatasetStore
from graph.executors.ray_session import ray_session

ExecutorName = Literal["local", "ray"]
EXECUTORS: tuple[ExecutorName, ...] = ("local", "ray")


class ChainExecutor(Protocol):
    """Runs a prepared chain over a version, handing each cleaned batch to the sink in order."""

    name: str

    async def run(
        self, runner: ChainRunner, store: DatasetStore, source: Manifest, batch_rows: int, sink: Sink
    ) -> CleanReport:
        """Clean every row of ``source``."""
        ...


@dataclass
class LocalExecutor:
    """The chain's own worker processes on this machine (the default)."""

    name: str = "local"

    async def run(
        self, runner: ChainRunner, store: DatasetStore, source: Manifest, batch_rows: int, sink: Sink
    ) -> CleanReport:
        """Read the version here and run the chain with ``ChainRunner.run``."""
        return await runner.run(store.iter_batches(source, batch_rows), sink)


@dataclass
class RayExecutor:
    """The chain's first segment on a Ray cluster (``address``: ``auto``, ``host:port``, or None for local)."""

    address: str | None = None
    name: str = "ray"

    async def run(
        self, runner: ChainRunner, store: DatasetStore, source: Manifest, batch_rows: int, sink: Sink
    ) -> CleanReport:
        """Run the first segment on the cluster and finish the chain here (see the module docstring)."""
        segment = runner.first_segment
        with ray_session(self.address):
            if segment is None:  # the chain starts with an LLM operator: nothing for the cluster to do
                return await runner.run(store.iter_batches(source, batch_rows), sink)
            nodes: set[str] = set()
            report = await runner.replay(prepared_batches(store.files(source), segment, batch_rows, nodes), sink)
        report.ray_nodes = len(nodes)
        return report


def make_executor(name: str, ray_address: str | None = None) -> ChainExecutor:
    """Return the executor called ``name``.

    Raises:
        ValueError: An unknown name, or a Ray address given for the local executor.
    """
    if name == "local":
        if ray_address is not None:
            raise ValueError("--ray-address is only used with --executor ray")
        return LocalExecutor()
    if name == "ray":
        return RayExecutor(ray_address)
    raise ValueError(f"unknown executor {name!r}; executors: {', '.join(EXECUTORS)}")
