"""A real two-node Ray cluster on this machine for the tests: ``ray start`` twice, in its own temp dir.

``start_cluster(root)`` starts a head (``--num-cpus 1``) and a second node that joins it
(``--num-cpus 1``), each on free ports, with every file under a fresh short temp dir (Unix
socket paths are limited to 107 bytes). ``stop_cluster`` ends exactly the processes of that temp
dir and their children, never another Ray on the machine (``ray stop`` would end them all).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

START_TIMEOUT_S = 120
STOP_GRACE_S = 5
NODES = 2
"""The head and one node that joins it."""
LOOPBACK_ENV = {
    "RAY_AUTH_MODE": "disabled",  # no token file in the home directory for a loopback-only test cluster
    "RAY_USAGE_STATS_ENABLED": "0",
}
"""The environment of the nodes and of the drivers that connect to them."""
HEAD_IP = "127.0.0.2"
"""The head's address. Ray replaces 127.0.0.1 (and ``localhost``) by the machine's network address,
so the head takes another loopback address; the second node and the driver join it at
127.0.0.2 and take 127.0.0.1, the address they reach it from. All traffic stays on loopback."""


class RayUnavailable(RuntimeError):
    """Ray is not installed or ``ray start`` failed here; the message says why."""


@dataclass
class RayCluster:
    """A started cluster: its GCS address (``127.0.0.2:port``) and the temp dir its processes use."""

    address: str
    temp_dir: Path


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _node_ports() -> list[str]:
    """Return the options that put one node's agents on free ports (two nodes share this machine)."""
    return [
        f"--node-manager-port={_free_port()}",
        f"--object-manager-port={_free_port()}",
        f"--dashboard-agent-listen-port={_free_port()}",
        f"--dashboard-agent-grpc-port={_free_port()}",
        f"--metrics-export-port={_free_port()}",
        f"--runtime-env-agent-port={_free_port()}",
    ]


def _ray_start(args: list[str], temp_dir: Path) -> None:
    ray = Path(sys.executable).with_name("ray")
    if not ray.exists():
        raise RayUnavailable(f"no ray command beside {sys.executable}: pip install 'dialogforge[ray]'")
    command = [
        str(ray),
        "start",
        *args,
        "--num-cpus=1",
        f"--temp-dir={temp_dir}",
        "--disable-usage-stats",
        *_node_ports(),
    ]
    env = {**os.environ, **LOOPBACK_ENV}
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=START_TIMEOUT_S, env=env)
    except subprocess.TimeoutExpired:
        raise RayUnavailable(f"ray start did not finish in {START_TIMEOUT_S} s") from None
    if done.returncode != 0:
        lines = [line for line in (done.stderr + done.stdout).splitlines() if line.strip()]
        raise RayUnavailable(f"ray start failed ({done.returncode}): {lines[-1] if lines else 'no output'}")


_COUNT_ALIVE = """
import sys, time, ray
ray.init(address=sys.argv[1], logging_level="ERROR", log_to_driver=False)
deadline = time.monotonic() + float(sys.argv[3])
while True:
    alive = sum(1 for node in ray.nodes() if node["Alive"] and node["Resources"].get("CPU"))
    if alive >= int(sys.argv[2]) or time.monotonic() > deadline:
        print(alive)
        break
    time.sleep(0.5)
"""


def _wait_for_nodes(address: str, count: int) -> None:
    """Wait until ``count`` nodes with a CPU are alive in the cluster (``ray start`` returns before a
    joining node's resources reach the head; a job started then runs on the head alone).

    Raises:
        RuntimeError: Ray started but the nodes did not all join (a failure, not a reason to skip).
    """
    env = {**os.environ, **LOOPBACK_ENV}
    command = [sys.executable, "-c", _COUNT_ALIVE, address, str(count), str(START_TIMEOUT_S)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=START_TIMEOUT_S + 60, env=env)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"the cluster did not report {count} nodes in {START_TIMEOUT_S} s") from None
    alive = done.stdout.strip().splitlines()[-1:] or ["0"]
    if done.returncode != 0 or int(alive[0]) < count:
        raise RuntimeError(f"the cluster reports {alive[0]} of {count} nodes alive: {done.stderr[-300:]}")


def start_cluster() -> RayCluster:
    """Start a head and a second node; stop what started if either fails.

    Raises:
        RayUnavailable: Ray is missing or a node could not start.
    """
    temp_dir = Path(tempfile.mkdtemp(prefix="dfray-", dir="/tmp"))
    port = _free_port()
    try:
        _ray_start(
            [
                "--head",
                f"--port={port}",
                "--include-dashboard=false",
                f"--dashboard-port={_free_port()}",
                f"--ray-client-server-port={_free_port()}",
                f"--node-ip-address={HEAD_IP}",
            ],
            temp_dir,
        )
        _ray_start([f"--address={HEAD_IP}:{port}"], temp_dir)
        _wait_for_nodes(f"{HEAD_IP}:{port}", NODES)
    except BaseException:
        stop_cluster(temp_dir)
        raise
    return RayCluster(f"{HEAD_IP}:{port}", temp_dir)


def _processes() -> dict[int, tuple[int, str]]:
    """Return every process as pid -> (parent pid, command line)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        parent = int(stat[stat.rindex(")") + 2 :].split()[1])
        found[int(entry.name)] = (parent, cmdline)
    return found


def cluster_pids(temp_dir: Path) -> set[int]:
    """Return the processes whose command line names ``temp_dir``, and all their descendants."""
    table = _processes()
    marked = {pid for pid, (_, cmdline) in table.items() if str(temp_dir) in cmdline and pid != os.getpid()}
    grew = True
    while grew:
        children = {pid for pid, (parent, _) in table.items() if parent in marked} - marked
        marked |= children
        grew = bool(children)
    return marked


def stop_cluster(temp_dir: Path) -> None:
    """End the processes of this cluster (SIGTERM, then SIGKILL after a grace period) and remove its temp dir."""
    pids = cluster_pids(temp_dir)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)
        deadline = time.monotonic() + STOP_GRACE_S
        while pids and time.monotonic() < deadline:
            pids = {pid for pid in pids if Path(f"/proc/{pid}").exists() and not _zombie(pid)}
            time.sleep(0.2)
        if not pids:
            break
    shutil.rmtree(temp_dir, ignore_errors=True)


def _zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat[stat.rindex(")") + 2] == "Z"
