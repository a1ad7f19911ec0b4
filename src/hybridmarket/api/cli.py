"""`hybridmarket api`: serve the API (and, later, the web UI) with uvicorn."""

from __future__ import annotations

import contextlib
import gc
import socket
from collections.abc import Iterator
from typing import Annotated

import typer
import uvicorn
from uvicorn.supervisors import multiprocess

from hybridmarket.cli_support import DataDir, cli_settings
from hybridmarket.settings import Settings

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

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        settle_heap()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        from hybridmarket.api.routes.stream import end_streams

        app = self.config.loaded_app  # under uvicorn's middleware: the FastAPI app inside
        while app is not None and not hasattr(app, "state"):
            app = getattr(app, "app", None)
        end_streams(app)
        await super().shutdown(sockets)


# The cyclic collector's first generation runs every this many net allocations (Python's
# default is 700: a request allocates hundreds of objects, so it ran every few requests).
GC_GEN0_THRESHOLD = 50_000


def settle_heap() -> None:
    """Once the server has started: what startup built (modules, routes, models, the app's
    state) goes to the collector's permanent generation (`gc.freeze`), and the first
    generation is collected less often. Full collections walked that whole heap during
    requests: at 50 connections the portfolio, profile and leaderboard reads' p99 went from
    85-110 ms to 35-58 ms with it (bench/portfolio.py, docs/benchmarks.md). Only in the
    server processes (`hybridmarket api`, `up`), not where the app is built in a test."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_GEN0_THRESHOLD, *gc.get_threshold()[1:])


class _ApiProcess(multiprocess.Process):
    """A `--workers` process that serves with `ApiServer` (uvicorn's would wait for the open
    live streams until its graceful timeout cut them off)."""

    @property
    def server(self) -> uvicorn.Server:
        if self._server is None:
            self._server = ApiServer(self.config)
        return self._server


def api(
    data_dir: DataDir = None,
    host: Annotated[
        str | None, typer.Option("--host", help="Bind address [default: 127.0.0.1]")
    ] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port [default: 8000]")] = None,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            max=64,
            help="Server processes sharing the port (needs REDIS_URL when more than one: the "
            "rate limits and cache signals are shared through it).",
        ),
    ] = 1,
) -> None:
    """Serve the REST API: OpenAPI at /openapi.json, docs at /docs, metrics at /metrics.

    Uses DATABASE_URL (or the embedded PostgreSQL), SOLANA_RPC_URL, REDIS_URL (shared rate
    limits and cache signals), API_DOMAIN (the Sign-In-With-Solana domain), CORS_ORIGINS,
    ADMIN_WALLETS and MODERATOR_WALLETS. SIGINT/SIGTERM stop it within a few seconds.
    """
    from hybridmarket import logs
    from hybridmarket.api.app import create_app, server_config

    settings = cli_settings(data_dir)
    if host:
        settings.api_host = host
    if port:
        settings.api_port = port
    if workers > 1 and not settings.redis_url:
        typer.echo(
            f"error: --workers {workers} needs REDIS_URL: without it each process keeps its own "
            "rate limits; set REDIS_URL or serve with --workers 1",
            err=True,
        )
        raise typer.Exit(2)
    logs.configure()
    if workers == 1:
        ApiServer(server_config(create_app(settings), settings)).run()
        return
    serve_processes(settings, workers)


def serve_processes(settings: Settings, workers: int) -> None:
    """`workers` processes on one listening socket, supervised by uvicorn (a process that dies
    is replaced; SIGINT/SIGTERM stop them all). Each builds the app from the environment, which
    carries these settings, with DATABASE_URL pointing at the one database opened here (the
    embedded server must not be started once per process)."""
    from hybridmarket.api.app import server_config
    from hybridmarket.db.connect import database

    with database(settings) as url:
        settings.model_copy(update={"database_url": url}).export()
        config = server_config(
            "hybridmarket.api.app:app_from_environment", settings, factory=True, workers=workers
        )
        config.timeout_graceful_shutdown = GRACEFUL_SHUTDOWN_S  # open streams end by then
        sock = config.bind_socket()
        # uvicorn's supervisor builds its processes from this module global: ours, with ApiServer.
        multiprocess.Process = _ApiProcess  # type: ignore[misc]
        multiprocess.Multiprocess(config, sockets=[sock]).run()
