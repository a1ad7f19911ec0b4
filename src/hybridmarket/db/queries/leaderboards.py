"""Leaderboards: wallets by realized profit (the average-cost method) or by volume, all time
(`trader_stats`) or in one UTC week (`trader_weeks`), each one range of an index."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from psycopg import AsyncConnection, sql

By = Literal["profit", "volume"]
_KEY = {"profit": "realized_pnl", "volume": "volume"}


async def top(
    conn: AsyncConnection[Any],
    *,
    by: By,
    week: date | None,
    limit: int,
    after: tuple[int, str] | None = None,
) -> list[tuple[str, int, int, int]]:
    """(wallet, realized P&L, volume, trades), best first (ties: the greater wallet first), after the
    (key, wallet) of the previous page's last row; all time when `week` is None, else the UTC
    week starting on that Monday."""
    key = sql.Identifier(_KEY[by])
    where: list[sql.Composable] = [sql.SQL("true" if week is None else "week = %(week)s")]
    if after is not None:
        where.append(sql.SQL("({}, wallet) < (%(key)s, %(wallet)s)").format(key))
    q = sql.SQL(
        "SELECT wallet, realized_pnl, volume, trades FROM {table} WHERE {where} "
        "ORDER BY {k} DESC, wallet DESC LIMIT %(limit)s"
    ).format(
        table=sql.Identifier("trader_stats" if week is None else "trader_weeks"),
        where=sql.SQL(" AND ").join(where),
        k=key,
    )
    params: dict[str, Any] = {"week": week, "limit": limit}
    if after is not None:
        params["key"], params["wallet"] = after
    cur = await conn.execute(q, params)
    return [(r[0], int(r[1]), int(r[2]), int(r[3])) for r in await cur.fetchall()]
