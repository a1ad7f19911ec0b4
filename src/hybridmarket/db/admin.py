"""Whole databases: a server to use (DATABASE_URL, or a throwaway embedded one) and fresh
migrated databases on it. Shared by the tests and the benchmarks."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from hybridmarket.db.embedded import EmbeddedPostgres
from hybridmarket.db.migrate import migrate


def with_dbname(url: str, name: str, **extra: str) -> str:
    """The same server, another database (and optionally another user)."""
    return make_conninfo(url, dbname=name, **extra)


@contextmanager
def server(prefix: str = "hm-pg-") -> Iterator[str]:
    """A maintenance URL: `DATABASE_URL` when set, else an embedded PostgreSQL in a fresh
    temporary directory, stopped and removed afterwards. The directory is made with mkdtemp
    under the system's temp dir: when running as root, pgserver runs the server as another
    user, which must be able to reach it (pytest's tmp tree is reset to 0700 by every session)."""
    from hybridmarket.settings import Settings

    env = Settings().database_url
    if env:
        yield env
        return
    d = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        with EmbeddedPostgres(d / "pgdata") as pg:
            yield pg.uri
    finally:
        shutil.rmtree(d, ignore_errors=True)


def drop_database(admin_url: str, name: str) -> None:
    with psycopg.connect(admin_url, autocommit=True) as c:
        c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def recreate_database(
    admin_url: str, name: str, *, template: str | None = None, migrated: bool = True
) -> str:
    """Drop `name` if it exists, create it (from `template` if given) and migrate it unless told
    not to or cloned from a template; returns its URL."""
    drop_database(admin_url, name)
    with psycopg.connect(admin_url, autocommit=True) as c:
        stmt = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            stmt += sql.SQL(" TEMPLATE {}").format(sql.Identifier(template))
        c.execute(stmt)
    url = with_dbname(admin_url, name)
    if migrated and not template:
        migrate(url)
    return url


def bulk_copy(
    conn: psycopg.Connection[Any],
    table: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    total: int,
    *,
    every: int = 100_000,
) -> None:
    """COPY `rows` into `table`, printing progress every `every` rows (for loading test and
    benchmark data sets)."""
    t0 = time.perf_counter()
    stmt = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with conn.cursor().copy(stmt) as cp:
        for n, row in enumerate(rows, 1):
            cp.write_row(row)
            if n % every == 0:
                elapsed = time.perf_counter() - t0
                print(
                    f"  {table}: {n:>9,} / {total:,} rows  ({elapsed:5.1f}s, "
                    f"{n / elapsed:,.0f} rows/s)",
                    flush=True,
                )
    print(f"  {table}: {total:,} rows in {time.perf_counter() - t0:.1f}s", flush=True)
