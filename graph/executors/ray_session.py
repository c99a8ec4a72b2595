"""One connection of this process to a Ray cluster, shared by every job that runs on it.

``ray_session(address)`` connects (``auto``, ``host:port``; None: ``RAY_ADDRESS`` or a new
single-machine instance) unless this process is connected already, and disconnects when the last
job that needed the connection ends, so two Ray jobs of one ``serve`` process share it. An explicit
``host:port`` is probed with a short TCP connect first: Ray itself retries an unreachable address
for minutes. Ray is imported only here (the ``ray`` extra).
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Iterator
from typing import Any

INSTALL_HINT = "pip install 'dialogforge[ray]'"
CONNECT_TIMEOUT_S = 5.0

_lock = threading.Lock()
_users = 0
_owned: str | None = None  # the address this module connected to ("" for a default), None: not ours


class ExecutorError(ValueError):
    """The executor cannot run: Ray is not installed or the cluster cannot be reached."""

    code = "executor_unavailable"


def import_ray() -> Any:
    """Return the ``ray`` module (with Ray Data loaded).

    Raises:
        ExecutorError: Ray is not installed.
    """
    try:
        import ray
        import ray.data  # Ray Data is part of the extra
    except ImportError:
        raise ExecutorError(f"the ray executor needs Ray: {INSTALL_HINT}") from None
    return ray


def check_reachable(address: str) -> None:
    """Fail at once, with the reason, when nothing listens at ``host:port``."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise ExecutorError(f"--ray-address must be auto or HOST:PORT, got {address!r}")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as error:
        raise ExecutorError(f"cannot reach the Ray cluster at {address}: {error.strerror or error}") from None


def _connect(ray: Any, address: str | None) -> None:
    if address not in (None, "auto", "local"):
        check_reachable(address)
    try:
        ray.init(address=address, log_to_driver=False, logging_level=logging.ERROR)
    except (ConnectionError, RuntimeError, ValueError) as error:
        where = address or "RAY_ADDRESS / a new local instance"
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ExecutorError(f"cannot reach the Ray cluster at {where}: {first}") from None


@contextlib.contextmanager
def ray_session(address: str | None) -> Iterator[Any]:
    """Keep this process connected to a Ray cluster while the block runs; yield the ``ray`` module.

    Raises:
        ExecutorError: Ray is missing, the cluster cannot be reached, or this process is connected
            to another address already.
    """
    global _users, _owned
    ray = import_ray()
    with _lock:
        if not ray.is_initialized():
            _connect(ray, address)
            _owned = address or ""
        elif _owned is not None and address not in (None, "auto") and address != _owned:
            raise ExecutorError(f"this process is connected to the Ray cluster at {_owned or 'default'} already")
        _users += 1
    try:
        yield ray
    finally:
        with _lock:
            _users -= 1
            if _users == 0 and _owned is not None:
                ray.shutdown()
                _owned = None
