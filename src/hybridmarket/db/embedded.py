"""The embedded PostgreSQL 16: a real server from the `pgserver` wheel, kept under the data
directory, used whenever `DATABASE_URL` is not set.

pgserver starts the server on a Unix socket (no port to collide with) and reference-counts the
processes using one data directory: the server stops when the last of them exits, so the API,
the worker and a CLI command can share it.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import structlog

log = structlog.get_logger(__name__)


class EmbeddedPostgres:
    """A pgserver-managed PostgreSQL under `pgdata`; `uri` is a libpq URL for it."""

    def __init__(self, pgdata: Path) -> None:
        self.pgdata = pgdata
        self._server: Any = None

    def start(self) -> str:
        self.pgdata.mkdir(parents=True, exist_ok=True)
        with warnings.catch_warnings():
            # platformdirs warns about the runtime dir on machines without a login session.
            warnings.simplefilter("ignore")
            import pgserver

            self._server = pgserver.get_server(  # type: ignore[attr-defined]
                self.pgdata, cleanup_mode="stop"
            )
        log.info("embedded postgres running", pgdata=str(self.pgdata))
        return self.uri

    @property
    def uri(self) -> str:
        if self._server is None:
            raise RuntimeError("embedded PostgreSQL is not started")
        return str(self._server.get_uri())

    def stop(self) -> None:
        """Release this process's handle (the server stops when no process uses it)."""
        if self._server is not None:
            self._server.cleanup()
            self._server = None

    def __enter__(self) -> EmbeddedPostgres:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
