"""`voucher-ledger serve`: the API and the console under uvicorn, with N worker processes."""

from __future__ import annotations

import os
import shutil
import tempfile

import typer
from rich.console import Console

from ledger.core.config import DATABASE_URL_ENV

out = Console(highlight=False, soft_wrap=True)
# uvicorn imports this in every worker: an import string, since workers are processes.
APP_FACTORY = "api.app:app_from_environment"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def serve_command(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    port: int = typer.Option(8000, "--port", help="Port to listen on."),
    workers: int = typer.Option(1, "--workers", min=1, max=64,
                                help="Worker processes (each its own database pool)."),
    proxy_headers: bool = typer.Option(
        False, "--proxy-headers",
        help="Trust X-Forwarded-For/-Proto from --forwarded-allow-ips (behind a TLS proxy)."),
    forwarded_allow_ips: str = typer.Option(
        "127.0.0.1", "--forwarded-allow-ips",
        help="Comma-separated addresses (or *) of the proxies whose headers are trusted."),
    url: str = typer.Option(None, "--url", help="Database URL (default: the configured one)."),
) -> None:
    """Serve the HTTP API and the console with uvicorn (the database must be at head)."""
    import uvicorn

    from api.logs import uvicorn_log_config

    if url:
        # Workers are new processes: they read the database from the environment.
        os.environ[DATABASE_URL_ENV] = url
    counts = None
    if workers > 1 and not os.environ.get(MULTIPROC_ENV):
        # Each worker counts its own requests; /metrics adds them up from this directory,
        # which goes when the server stops (one given in the environment is left alone).
        counts = os.environ[MULTIPROC_ENV] = tempfile.mkdtemp(prefix="voucher-ledger-metrics-")
    out.print(f"serving http://{host}:{port}/  docs: http://{host}:{port}/docs  "
              f"workers: {workers}")
    try:
        uvicorn.run(APP_FACTORY, factory=True, host=host, port=port, workers=workers,
                    proxy_headers=proxy_headers, forwarded_allow_ips=forwarded_allow_ips,
                    server_header=False, log_config=uvicorn_log_config(),
                    access_log=False)
    finally:
        if counts is not None:
            shutil.rmtree(counts, ignore_errors=True)
            del os.environ[MULTIPROC_ENV]
