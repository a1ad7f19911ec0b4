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


async def upsert_rows(
    conn: AsyncConnection[Any],
    table: str,
    columns: Sequence[str],
    key: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    touch: str | None = None,
    merge: dict[str, str] | None = None,
) -> None:
    """Set-based upsert: COPY the rows into a temporary twin of `table`, then one
    INSERT … SELECT … ON CONFLICT DO UPDATE. `merge` overrides the update expression of some
    columns (e.g. LEAST(t.c, EXCLUDED.c)); must run inside a transaction."""
    if not rows:
        return
    tmp = sql.Identifier(f"_upsert_{table}")
    await conn.execute(
        sql.SQL(
            "CREATE TEMP TABLE IF NOT EXISTS {} (LIKE {} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
        ).format(tmp, sql.Identifier(table))
    )
    cols = sql.SQL(", ").join(map(sql.Identifier, columns))
    async with conn.cursor().copy(sql.SQL("COPY {} ({}) FROM STDIN").format(tmp, cols)) as cp:
        for row in rows:
            await cp.write_row(row)
    merge = merge or {}
    sets = [
        sql.SQL(merge[c]) if c in merge else sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c))
        for c in columns
        if c not in key
    ]
    if touch:
        sets.append(sql.SQL("{} = now()").format(sql.Identifier(touch)))
    await conn.execute(
        sql.SQL(
            "INSERT INTO {t} AS t ({cols}) SELECT {cols} FROM {tmp} ON CONFLICT ({key}) DO UPDATE SET {sets}"
        ).format(
            t=sql.Identifier(table),
            cols=cols,
            tmp=tmp,
            key=sql.SQL(", ").join(map(sql.Identifier, key)),
            sets=sql.SQL(", ").join(sets),
        )
    )
    await conn.execute(sql.SQL("TRUNCATE {}").format(tmp))
