"""Where the database is and how to reach it: `DATABASE_URL`, or the embedded server."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from weakref import WeakKeyDictionary

from psycopg import AsyncConnection
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


# A connection back in the pool for less than this is handed out again unchecked: under load
# connections come back within milliseconds, and an empty query per request was one more round
# trip for each (issue 17). One idle longer (the server may have dropped it meanwhile) is checked.
CHECK_IDLE_S = 1.0
_returned: WeakKeyDictionary[AsyncConnection[Any], float] = WeakKeyDictionary()


async def _note_returned(conn: AsyncConnection[Any]) -> None:
    _returned[conn] = time.monotonic()


async def _check_if_idle(conn: AsyncConnection[Any]) -> None:
    if time.monotonic() - _returned.get(conn, -CHECK_IDLE_S) >= CHECK_IDLE_S:
        await AsyncConnectionPool.check_connection(conn)


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
    timeout of each new connection. A connection that was idle in the pool for CHECK_IDLE_S or
    more is checked (an empty query) before it is handed out, so that after the server dropped
    them (a restart, a failover) no request gets a dead one; one that failed in use is
    discarded when it comes back."""
    return AsyncConnectionPool(
        url,
        min_size=min(min_size, max_size),
        max_size=max_size,
        name=name,
        open=False,
        timeout=timeout,
        check=_check_if_idle,
        reset=_note_returned,
        kwargs={"autocommit": True, "connect_timeout": max(1, round(timeout))},
    )
