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

from collections.abc import Iterator, Sequence
from pathlib import Path

import pyarrow as pa

from graph.cleaning.base import KeyedOperator, Operator
from graph.cleaning.batch import light_samples
from graph.cleaning.segment import SegmentResult, run_segment
from graph.cleaning.segment_columns import decode, encode
from graph.datasets.rows import INPUT_SCHEMA
from graph.executors.ray_session import import_ray

NODE = "_df_node"
"""The id of the Ray node that cleaned the row (the report counts the nodes that did work)."""


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
    ray = import_ray()
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
