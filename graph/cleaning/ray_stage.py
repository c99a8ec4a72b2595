"""The first segment of a chain as a Ray Data stage over a version's Parquet files.

Ray Data reads the version's files (``DatasetStore.files``) on the cluster's nodes, and
``map_batches`` runs the chain's first run of row and keyed operators on each batch there
(``graph.cleaning.segment.run_segment``: the per-row rules and the dedup keys, MinHash
signatures included, which is where the CPU goes). Each output row carries what the segment made
of it (``graph.cleaning.segment_columns``), and the driver iterates the rows in their stored
order (``preserve_order``), so the keyed operators' decisions and the rest of the chain run in
``ChainRunner.replay`` exactly as locally: the same rows, the same lineage, the same report.

Ray is imported only here and only when this stage runs (the ``ray`` extra).
"""

from __future__ import annotations

import contextlib
import logging
import socket
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from graph.cleaning.base import KeyedOperator, Operator
from graph.cleaning.batch import light_samples
from graph.cleaning.segment import SegmentResult, run_segment
from graph.cleaning.segment_columns import decode, encode
from graph.datasets.rows import INPUT_SCHEMA

INSTALL_HINT = "pip install 'dialogforge[ray]'"
CONNECT_TIMEOUT_S = 5.0
NODE = "_df_node"
"""The id of the Ray node that cleaned the row (the report counts the nodes that did work)."""


class ExecutorError(ValueError):
    """The executor cannot run: Ray is not installed or the cluster cannot be reached."""

    code = "executor_unavailable"


def _ray() -> Any:
    try:
        import ray
        import ray.data  # Ray Data is part of the extra
    except ImportError:
        raise ExecutorError(f"the ray executor needs Ray: {INSTALL_HINT}") from None
    return ray


@contextlib.contextmanager
def ray_session(address: str | None) -> Iterator[Any]:
    """Connect this process to a Ray cluster (``auto``, ``host:port``; None: RAY_ADDRESS or a new local one).

    Raises:
        ExecutorError: Ray is missing or the cluster cannot be reached.
    """
    ray = _ray()
    started = not ray.is_initialized()
    if started and address not in (None, "auto", "local"):
        check_reachable(address)
    if started:
        try:
            ray.init(address=address, log_to_driver=False, logging_level=logging.ERROR)
        except (ConnectionError, RuntimeError, ValueError) as error:
            where = address or "RAY_ADDRESS / a new local instance"
            first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise ExecutorError(f"cannot reach the Ray cluster at {where}: {first}") from None
    try:
        yield ray
    finally:
        if started:
            ray.shutdown()


def check_reachable(address: str) -> None:
    """Fail at once, with the reason, when nothing listens at ``host:port`` (Ray would retry for minutes)."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise ExecutorError(f"--ray-address must be auto or HOST:PORT, got {address!r}")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as error:
        raise ExecutorError(f"cannot reach the Ray cluster at {address}: {error.strerror or error}") from None


def _first_segment(table: pa.Table, segment: list[tuple[int, Operator]], keyed: list[int]) -> pa.Table:
    """Run the segment on one batch (on a Ray worker) and return the rows with its result as columns."""
    import ray

    out = encode(table, run_segment(segment, light_samples(table)), keyed)
    node = ray.get_runtime_context().get_node_id()
    return out.append_column(NODE, pa.array([node] * out.num_rows, pa.string()))


def prepared_batches(
    files: Sequence[Path], segment: list[tuple[int, Operator]], batch_rows: int, nodes: set[str] | None = None
) -> Iterator[tuple[pa.Table, SegmentResult]]:
    """Yield, in stored order, each batch of the version's rows and what ``segment`` made of it on the cluster.

    Call it inside :func:`ray_session`. The files must be readable at the same path on every node
    (a shared file system), which is the case on one machine and with a shared data directory.
    Batches are spread over the nodes (``SPREAD``); ``nodes`` collects the ids of those that worked.
    """
    ray = _ray()
    context = ray.data.DataContext.get_current()
    context.execution_options.preserve_order = True
    context.enable_progress_bars = False
    keyed = [position for position, operator in segment if isinstance(operator, KeyedOperator)]
    positions = [position for position, _ in segment]
    dataset = ray.data.read_parquet([str(path) for path in files], columns=list(INPUT_SCHEMA.names))
    dataset = dataset.repartition(target_num_rows_per_block=batch_rows)
    dataset = dataset.map_batches(
        _first_segment,
        fn_kwargs={"segment": segment, "keyed": keyed},
        batch_format="pyarrow",
        batch_size=batch_rows,
        zero_copy_batch=True,
        scheduling_strategy="SPREAD",
    )
    for table in dataset.iter_batches(batch_size=batch_rows, batch_format="pyarrow", prefetch_batches=2):
        if nodes is not None:
            nodes.update(table.column(NODE).unique().to_pylist())
        yield table.select(INPUT_SCHEMA.names), decode(table, positions, keyed)
