"""``dialogforge serve``: run the HTTP service with uvicorn.

Without API keys (``DIALOGFORGE_API_KEYS``) the server only binds a loopback address and says so;
with keys it says how many are configured (never the keys). SIGTERM or Ctrl-C shut it down
gracefully: no new work, in-flight samples finish (bounded), unfinished jobs resume at next start.
The server owns its data directory while it runs: a second process on it is refused.
"""

from __future__ import annotations

import ipaddress
import logging
from typing import Annotated

import click
import typer

logger = logging.getLogger(__name__)

GRACEFUL_CONNECTIONS_S = 5


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address (or ``localhost``)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def access_message(host: str, key_count: int) -> str:
    """Return the start-up line about who can reach the server; raise when it must not start."""
    if key_count:
        return f"API keys: {key_count} configured; /v1 requires 'Authorization: Bearer <key>'"
    if not is_loopback(host):
        raise click.UsageError(
            f"refusing to listen on {host} without API keys: set DIALOGFORGE_API_KEYS or use --host 127.0.0.1"
        )
    return "no API keys configured: the server is loopback-only (set DIALOGFORGE_API_KEYS to serve other hosts)"


def serve(
    host: Annotated[str, typer.Option(help="Address to bind (non-loopback needs DIALOGFORGE_API_KEYS).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", min=1, max=65535)] = 8000,
    log_level: Annotated[str, typer.Option(help="debug | info | warning | error")] = "info",
) -> None:
    """Run the HTTP API (jobs, samples, judge, styles; /healthz, /metrics)."""
    import uvicorn

    from agents.embeddings import make_embedder
    from service.http.app import create_app
    from service.jobs.owner import DataDirOwner
    from service.logging_setup import configure_logging
    from service.settings import Settings

    settings = Settings()
    message = access_message(host, len(settings.api_key_list()))
    # one owner per data directory: a second server (or a CLI job) on it is one line and exit 1
    with DataDirOwner(settings.data_dir, f"dialogforge serve on port {port}") as owner:
        # built before the server starts, so a wrong embedder setting is one line, not a startup traceback
        embedder = make_embedder(settings.embedder, settings.embedding_endpoint())
        configure_logging(log_level.upper())
        typer.echo(message, err=True)
        logger.info(message)
        typer.echo(f"dialogforge serving on http://{host}:{port} (data in {settings.data_dir})", err=True)
        uvicorn.run(
            create_app(settings, embedder=embedder, owner=owner),
            host=host,
            port=port,
            log_config=None,
            access_log=False,
            lifespan="on",
            timeout_graceful_shutdown=GRACEFUL_CONNECTIONS_S,
        )
