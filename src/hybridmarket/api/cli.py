"""`hybridmarket api`: serve the API (and, later, the web UI) with uvicorn."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from typing import Annotated

import typer
import uvicorn

from hybridmarket.indexer.cli import DataDir, _settings

GRACEFUL_SHUTDOWN_S = 2
"""How long a stopping server waits for requests in flight before it cancels them."""


class ApiServer(uvicorn.Server):
    """uvicorn's server, which ends the open live streams as soon as it starts to stop (uvicorn
    would wait for them, and a browser tab keeps one open for ever) and bounds the wait for
    the other requests. `handle_signals=False` leaves SIGINT/SIGTERM to the caller, which then
    sets `should_exit`."""

    def __init__(self, config: uvicorn.Config, *, handle_signals: bool = True) -> None:
        if config.timeout_graceful_shutdown is None:
            config.timeout_graceful_shutdown = GRACEFUL_SHUTDOWN_S
        super().__init__(config)
        self.handle_signals = handle_signals

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if not self.handle_signals:
            yield
            return
        with super().capture_signals():
            yield

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        from hybridmarket.api.routes.stream import end_streams

        end_streams(self.config.app)
        await super().shutdown(sockets)


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
    ApiServer(server_config(create_app(settings), settings)).run()
