"""`reconcile_runs` and `reconcile_discrepancies`: what each reconciliation found."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg import AsyncConnection

from hybridmarket.db.queries._util import copy_rows
from hybridmarket.db.rows import Discrepancy, ReconcileReport


async def start_run(conn: AsyncConnection[Any]) -> int:
    cur = await conn.execute("INSERT INTO reconcile_runs DEFAULT VALUES RETURNING id")
    row = await cur.fetchone()
    assert row is not None
    return int(row[0])


async def finish_run(
    conn: AsyncConnection[Any], report: ReconcileReport, *, error: str | None = None
) -> None:
    await conn.execute(
        "UPDATE reconcile_runs SET finished_at = now(), chain_slot = %s, markets_checked = %s, "
        "discrepancies = %s, repaired = %s, error = %s WHERE id = %s",
        (
            report.chain_slot,
            report.markets_checked,
            len(report.discrepancies),
            report.repaired,
            error,
            report.run_id,
        ),
    )


async def record(conn: AsyncConnection[Any], run_id: int, found: Sequence[Discrepancy]) -> None:
    if found:
        await copy_rows(
            conn,
            "reconcile_discrepancies",
            ("run_id", "market_id", "field", "cached_value", "chain_value"),
            [(run_id, d.market_id, d.field, d.cached, d.chain) for d in found],
        )
