"""Shared integration fixtures: one real embedded llama.cpp server and one real Ray cluster per test session.

The 1.1 GB model is assembled once per machine in ``$DIALOGFORGE_DATA_DIR`` (default
``~/.dialogforge``); ``DIALOGFORGE_LOCAL_GGUF`` points at another GGUF instead. Tests that use
these fixtures must be marked ``@pytest.mark.embedded``. Run them under
``flock /tmp/dialogforge-llm.lock`` on a shared machine.

``ray_cluster`` starts a head and a second node (``tests/integration/ray_cluster.py``) once for
every Ray test (marked ``@pytest.mark.ray``), and ends exactly those processes afterwards; the
tests are skipped, with ``ray start``'s reason, only where Ray cannot start.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from agents.llm import LLMConfig, RoleModels, build_role_models
from agents.local_llm import EmbeddedLLMServer, resolve_model_path
from tests.integration.ray_cluster import RayCluster, RayUnavailable, cluster_pids, start_cluster, stop_cluster


@pytest.fixture(scope="session")
def embedded_server() -> Iterator[EmbeddedLLMServer]:
    data_dir = Path(os.environ.get("DIALOGFORGE_DATA_DIR", Path.home() / ".dialogforge"))
    local = os.environ.get("DIALOGFORGE_LOCAL_GGUF")
    model_path = resolve_model_path(data_dir, Path(local) if local else None)
    server = EmbeddedLLMServer(model_path, n_parallel=2, ctx_per_slot=4096)
    with server:
        yield server


@pytest.fixture(scope="session")
def embedded_models(embedded_server: EmbeddedLLMServer) -> RoleModels:
    name = embedded_server.model_name
    config = LLMConfig(generator_model=name, judge_model=name, rewriter_model=name, timeout_s=300)
    return build_role_models(config, embedded_server.base_url)


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[RayCluster]:
    try:
        cluster = start_cluster()
    except RayUnavailable as why:
        pytest.skip(f"Ray cannot start here: {why}")
    try:
        yield cluster
    finally:
        stop_cluster(cluster.temp_dir)
    assert not cluster_pids(cluster.temp_dir), "a Ray process of the test cluster outlived stop_cluster"
