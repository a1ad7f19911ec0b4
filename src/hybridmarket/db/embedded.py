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


# pgserver keeps one server object per data directory and process, and stops the server when
# that object is cleaned up: several users in one process (the API and the worker inside `up`,
# a backup taken by a test) share it through this count, so one closing never stops it under
# the others.
_SHARED: dict[Path, tuple[Any, int]] = {}


class EmbeddedPostgres:
    """A pgserver-managed PostgreSQL under `pgdata`; `uri` is a libpq URL for it."""

    def __init__(self, pgdata: Path) -> None:
        self.pgdata = pgdata
        self._server: Any = None

    def start(self) -> str:
        self.pgdata.mkdir(parents=True, exist_ok=True)
        key = self.pgdata.resolve()
        if key in _SHARED:
            server, count = _SHARED[key]
            _SHARED[key] = (server, count + 1)
            self._server = server
            return self.uri
        with warnings.catch_warnings():
            # platformdirs warns about the runtime dir on machines without a login session.
            warnings.simplefilter("ignore")
            import pgserver

            self._server = pgserver.get_server(  # type: ignore[attr-defined]
                self.pgdata, cleanup_mode="stop"
            )
        _SHARED[key] = (self._server, 1)
        log.info("embedded postgres running", pgdata=str(self.pgdata))
        return self.uri

    @property
    def uri(self) -> str:
        if self._server is None:
            raise RuntimeError("embedded PostgreSQL is not started")
        return str(self._server.get_uri())

    def stop(self) -> None:
        """Release this process's handle (the server stops when no process uses it)."""
        if self._server is None:
            return
        key = self.pgdata.resolve()
        server, count = _SHARED.get(key, (self._server, 1))
        self._server = None
        if count > 1:
            _SHARED[key] = (server, count - 1)
            return
        _SHARED.pop(key, None)
        server.cleanup()

    def __enter__(self) -> EmbeddedPostgres:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
