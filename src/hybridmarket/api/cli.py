"""`hybridmarket api`: serve the API (and, later, the web UI) with uvicorn."""

from __future__ import annotations

from typing import Annotated

import typer

from hybridmarket.indexer.cli import DataDir, _settings


def api(
    data_dir: DataDir = None,
    host: Annotated[
        str | None, typer.Option("--host", help="Bind address [default: 127.0.0.1]")
    ] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port [default: 8000]")] = None,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64, help="Processes")] = 1,
) -> None:
    """Serve the REST API: OpenAPI at /openapi.json, docs at /docs, metrics at /metrics.

    Uses DATABASE_URL (or the embedded PostgreSQL), SOLANA_RPC_URL, REDIS_URL (shared rate
    limits and cache signals), API_DOMAIN (the Sign-In-With-Solana domain), CORS_ORIGINS,
    ADMIN_WALLETS and MODERATOR_WALLETS.
    """
    import uvicorn

    from hybridmarket import logs
    from hybridmarket.api.app import create_app, server_config

    logs.configure()
    settings = _settings(data_dir)
    if host:
        settings.api_host = host
    if port:
        settings.api_port = port
    if workers > 1:
        typer.echo(
            "error: --workers > 1: run several `hybridmarket api` processes behind a load balancer",
            err=True,
        )
        raise typer.Exit(2)
    uvicorn.Server(server_config(create_app(settings), settings)).run()
