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
    url: str, *, max_size: int = 20, min_size: int = 1, name: str = "hm"
) -> AsyncConnectionPool:
    """An async connection pool (not yet opened: `await pool.open()` or `async with`)."""
    return AsyncConnectionPool(
        url,
        min_size=min(min_size, max_size),
        max_size=max_size,
        name=name,
        open=False,
        kwargs={"autocommit": True},
    )
