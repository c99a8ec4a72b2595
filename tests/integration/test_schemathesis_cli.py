"""schemathesis's own CLI against a real ``dialogforge serve`` process, every default phase.

``st run URL/openapi.json --checks not_a_server_error,status_code_conformance,response_schema_conformance``
(examples, coverage, fuzzing, stateful) must pass: no 5xx, no undocumented status, every body and
every Server-Sent Event as the schema says. Bounded for the suite: 10 examples per operation, a
fixed seed, no example database, one worker (CPython 3.11's ``ast`` keeps one recursion counter per
interpreter, so hypothesis describing strategies in two threads at once can raise "AST constructor
recursion depth mismatch", python/cpython#106905); about 30 s on a quiet 2-core machine (60-120 s at a
load of 10). Jobs are capped at n=5 and on-demand samples at 5 s, so every answer comes quickly from
the 0.05 s fake LLM. A data set ``demo`` with two versions is there from the start: the stateful
phase follows the OpenAPI links of ``GET /v1/datasets`` (and of an upload) to real names, so the
data set routes are tested on data, not only on 404s.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from benchmarks.loopback import fake_llm_server
from graph.datasets.store import DatasetStore
from tests.graph.datasets.helpers import sample
from tests.integration.serve_support import Server, report

CHECKS = "not_a_server_error,status_code_conformance,response_schema_conformance"
ST = Path(sys.executable).with_name("st")
DATASET_ROUTES = (
    "/v1/datasets/{name}",
    "/v1/datasets/{name}/versions/{version}",
    "/v1/datasets/{name}/versions/{version}/export",
    "/v1/datasets/{name}/versions/{version}/diff",
)


def two_versions(data_dir: Path) -> None:
    """Store ``demo@1`` (3 samples) and ``demo@2`` (one changed, one added)."""
    store = DatasetStore(data_dir)
    with store.new_version("demo", operation="import") as writer:
        writer.add([sample(i) for i in range(3)])
    with store.new_version("demo", operation="clean", parents=["demo@1"]) as writer:
        writer.add([sample(0), sample(1, user="改过"), sample(3)])


def test_the_live_server_passes_schemathesis_cli(tmp_path: Path) -> None:
    two_versions(tmp_path / "data")
    with fake_llm_server(0.05, embedding_latency_s=0.01) as llm_url:
        server = Server(
            tmp_path / "data",
            llm_url,
            tmp_path / "server.log",
            env={"DIALOGFORGE_MAX_JOB_N": "5", "DIALOGFORGE_SAMPLE_TIMEOUT_S": "5"},
        )
        try:
            command = [str(ST), "run", f"{server.base}/openapi.json", "--checks", CHECKS]
            command += ["--max-examples", "10", "--workers", "1", "--seed", "16", "--request-timeout", "60"]
            command += ["--generation-database", "none", "--no-color"]
            result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=900)
        finally:
            server.stop()
    output = result.stdout + result.stderr
    (tmp_path / "st.txt").write_text(output)
    assert result.returncode == 0, output[-6000:]
    for phase in ("Examples", "Coverage", "Fuzzing", "Stateful"):
        assert re.search(rf"✅\s+{phase}", output), f"phase {phase} did not pass:\n{output[-3000:]}"
    log = (tmp_path / "server.log").read_text()
    streams = log.count('"GET /v1/jobs/{job_id}/events 200"')
    assert streams > 0, "no event stream was validated"
    on_data = {route: log.count(f'"GET {route} 200"') for route in DATASET_ROUTES}
    assert all(on_data.values()), f"a data set route never answered 200: {on_data}"
    generated = re.search(r"(\d+) generated, (\d+) passed", output)
    report("schemathesis CLI", cases=generated.group(1) if generated else "?", event_streams_checked=streams, **on_data)
