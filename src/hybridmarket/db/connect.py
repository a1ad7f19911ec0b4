"""Where the database is and how to reach it: `DATABASE_URL`, or the embedded server."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from psycopg_pool import AsyncConnectionPool

from hybridmarket.db.embedded import EmbeddedPostgres
from hybridmarket.settings import Settings


@contextmanager
def database(settings: Settings) -> Iterator[str]:
    """Yield the database URL: `DATABASE_URL` when set, else the embedded server, started for
    the duration of the block under DATA_DIR/postgres."""
    if settings.database_url:
        yield settings.database_url
        return
    with EmbeddedPostgres(settings.data_dir / "postgres") as pg:
        yield pg.uri


def make_pool(
    url: str,
    *,
    max_size: int = 20,
    min_size: int = 1,
    name: str = "hm",
    timeout: float = 30.0,
) -> AsyncConnectionPool:
    """An async connection pool (not yet opened: `await pool.open()` or `async with`).
    `timeout`: how long `connection()` waits for one (then PoolTimeout), and the connect
    timeout of each new connection. A connection is checked (an empty query) before it is
    handed out, so that after the server dropped them (a restart, a failover) no request gets
    a dead one."""
    return AsyncConnectionPool(
        url,
        min_size=min(min_size, max_size),
        max_size=max_size,
        name=name,
        open=False,
        timeout=timeout,
        check=AsyncConnectionPool.check_connection,
        kwargs={"autocommit": True, "connect_timeout": max(1, round(timeout))},
    )
