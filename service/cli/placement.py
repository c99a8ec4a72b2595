"""``--executor local|ray`` and ``--ray-address``: the options of the commands that can run on a Ray cluster.

Checked before a job is stored or a model loads: an unknown executor, an address without
``--executor ray``, or an explicit ``HOST:PORT`` where nothing listens is one ``error:`` line
(Ray itself would retry an unreachable address for minutes).
"""

from __future__ import annotations

from typing import Annotated

import typer

from service.cli.errors import UsageError

EXECUTORS = ("local", "ray")

ExecutorOption = Annotated[
    str,
    typer.Option(
        "--executor", help="Where the work runs: local, or ray (a Ray cluster; pip install 'dialogforge[ray]')."
    ),
]
RayAddressOption = Annotated[
    str | None,
    typer.Option(
        "--ray-address",
        help="Ray cluster for --executor ray: auto or host:port (default: RAY_ADDRESS, else a new local one).",
    ),
]


def check_placement(executor: str, ray_address: str | None) -> None:
    """Check the two options (an explicit address is probed with a short TCP connect).

    Raises:
        UsageError: What to fix.
    """
    if executor not in EXECUTORS:
        raise UsageError(f"unknown executor {executor!r}; executors: {', '.join(EXECUTORS)}")
    if executor == "local":
        if ray_address is not None:
            raise UsageError("--ray-address is only used with --executor ray")
        return
    from graph.executors.ray_session import ExecutorError, check_reachable, import_ray

    try:
        import_ray()
        if ray_address not in (None, "auto", "local"):
            check_reachable(ray_address)
    except ExecutorError as error:
        raise UsageError(str(error)) from None
