"""Where the database is and how to reach it: `DATABASE_URL`, or the embedded server."""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from weakref import WeakKeyDictionary

from psycopg import AsyncConnection
from psycopg.conninfo import conninfo_to_dict
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
# The API's market reads (`ApiState.reads`): their statements build a market's JSON in one large
# expression, which PostgreSQL would plan again at every execution (0.4 ms of a 0.9 ms read of
# one market, measured): these connections use each prepared statement's generic plan. Only
# statements whose plan does not depend on their parameters' values run there (an index range
# from a cursor, markets by id).
GENERIC_PLANS = {"plan_cache_mode": "force_generic_plan"}
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
    session: Mapping[str, str] | None = None,
) -> AsyncConnectionPool:
    """An async connection pool (not yet opened: `await pool.open()` or `async with`).
    `timeout`: how long `connection()` waits for one (then PoolTimeout), and the connect
    timeout of each new connection. A connection that was idle in the pool for CHECK_IDLE_S or
    more is checked (an empty query) before it is handed out, so that after the server dropped
    them (a restart, a failover) no request gets a dead one; one that failed in use is
    discarded when it comes back. `session`: settings of every connection (`-c name=value`,
    after any `options` of the URL)."""
    kwargs: dict[str, Any] = {"autocommit": True, "connect_timeout": max(1, round(timeout))}
    if session:
        given = conninfo_to_dict(url).get("options")
        kwargs["options"] = " ".join(
            [*([str(given)] if given else []), *(f"-c {k}={v}" for k, v in session.items())]
        )
    return AsyncConnectionPool(
        url,
        min_size=min(min_size, max_size),
        max_size=max_size,
        name=name,
        open=False,
        timeout=timeout,
        check=_check_if_idle,
        reset=_note_returned,
        kwargs=kwargs,
    )
