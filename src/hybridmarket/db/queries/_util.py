"""Shared by the query modules: COPY rows and build upsert statements."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from psycopg import AsyncConnection, sql


async def copy_rows(
    conn: AsyncConnection[Any], table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    stmt = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    async with conn.cursor().copy(stmt) as cp:
        for row in rows:
            await cp.write_row(row)


def upsert_sql(
    table: str, columns: Sequence[str], key: Sequence[str], *, touch: str | None = None
) -> sql.Composed:
    """INSERT … ON CONFLICT (key) DO UPDATE SET every non-key column (and `touch` = now())."""
    sets = [
        sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c)) for c in columns if c not in key
    ]
    if touch:
        sets.append(sql.SQL("{} = now()").format(sql.Identifier(touch)))
    return sql.SQL("INSERT INTO {} ({}) VALUES ({}) ON CONFLICT ({}) DO UPDATE SET {}").format(
        sql.Identifier(table),
        sql.SQL(", ").join(map(sql.Identifier, columns)),
        sql.SQL(", ").join(sql.Placeholder() * len(columns)),
        sql.SQL(", ").join(map(sql.Identifier, key)),
        sql.SQL(", ").join(sets),
    )
